"""Structural Block Kit checks, answering ``invalid_blocks`` the way Slack does.

Slack's own validator is much larger; this covers the limits a bot is likely to hit:
block count, known block types, text object kinds and lengths, field and element
counts, button shape, and action_id/block_id uniqueness. Each problem is reported as
``"<message> [json-pointer:/blocks/<i>/...]"`` like Slack's ``errors`` list.
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
BLOCK_TYPES = frozenset({"section", "header", "context", "divider", "actions", "image", "rich_text", "input"})
ELEMENT_TYPES = frozenset({
    "button", "static_select", "external_select", "users_select", "conversations_select", "channels_select",
    "multi_static_select", "multi_users_select", "multi_conversations_select", "multi_channels_select",
    "multi_external_select", "overflow", "datepicker", "timepicker", "datetimepicker", "checkboxes",
    "radio_buttons", "plain_text_input", "number_input", "email_text_input", "url_text_input", "image",
    "rich_text_input",
})


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.action_ids: set[str] = set()
        self.block_ids: set[str] = set()

    def fail(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def text_object(self, obj: Any, pointer: str, *, max_len: int, plain_only: bool = False) -> None:
        if not isinstance(obj, dict):
            self.fail("must be an object", pointer)
            return
        kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if obj.get("type") not in kinds:
            self.fail(f"must be one of {', '.join(kinds)}", f"{pointer}/type")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.fail("must be more than 0 characters", f"{pointer}/text")
        elif len(text) > max_len:
            self.fail(f"must be less than {max_len + 1} characters", f"{pointer}/text")

    def element(self, element: Any, pointer: str) -> None:
        if not isinstance(element, dict):
            self.fail("must be an object", pointer)
            return
        kind = element.get("type")
        if kind not in ELEMENT_TYPES:
            self.fail(f"unknown element type {kind!r}", f"{pointer}/type")
            return
        if kind == "image":
            return
        action_id = element.get("action_id")
        if kind == "button":
            self.text_object(element.get("text"), f"{pointer}/text", max_len=75, plain_only=True)
            if action_id is None:
                self.fail("action_id is required", f"{pointer}/action_id")
            value = element.get("value")
            if value is not None and (not isinstance(value, str) or len(value) > 2000):
                self.fail("must be a string of at most 2000 characters", f"{pointer}/value")
            if len(str(element.get("url", ""))) > 3000:
                self.fail("must be less than 3001 characters", f"{pointer}/url")
            if element.get("style") not in (None, "primary", "danger"):
                self.fail("must be primary or danger", f"{pointer}/style")
        if kind == "overflow":
            self.options(element.get("options"), f"{pointer}/options", low=2, high=5, plain_only=True)
        if kind == "checkboxes":
            self.options(element.get("options"), f"{pointer}/options", low=1, high=10, plain_only=False)
            initial = element.get("initial_options")
            if initial is not None and (not isinstance(initial, list)
                                        or any(o not in (element.get("options") or []) for o in initial)):
                self.fail("must be options of this element", f"{pointer}/initial_options")
        if action_id is not None:
            if not isinstance(action_id, str) or not action_id or len(action_id) > 255:
                self.fail("must be 1 to 255 characters", f"{pointer}/action_id")
            elif action_id in self.action_ids:
                self.fail(f"duplicate action_id {action_id!r}", f"{pointer}/action_id")
            else:
                self.action_ids.add(action_id)

    def options(self, options: Any, pointer: str, *, low: int, high: int, plain_only: bool) -> None:
        if not isinstance(options, list) or not low <= len(options) <= high:
            self.fail(f"must be a list of {low} to {high} items", pointer)
            return
        for i, option in enumerate(options):
            if not isinstance(option, dict):
                self.fail("must be an object", f"{pointer}/{i}")
                continue
            self.text_object(option.get("text"), f"{pointer}/{i}/text", max_len=75, plain_only=plain_only)
            value = option.get("value")
            if not isinstance(value, str) or not value or len(value) > 150:
                self.fail("must be a string of 1 to 150 characters", f"{pointer}/{i}/value")

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict):
            self.fail("must be an object", pointer)
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.fail(f"unknown block type {kind!r}", f"{pointer}/type")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id or len(block_id) > 255:
                self.fail("must be 1 to 255 characters", f"{pointer}/block_id")
            elif block_id in self.block_ids:
                self.fail(f"duplicate block_id {block_id!r}", f"{pointer}/block_id")
            self.block_ids.add(str(block_id))
        getattr(self, f"_{kind}")(block, pointer)

    def _header(self, block: dict[str, Any], pointer: str) -> None:
        self.text_object(block.get("text"), f"{pointer}/text", max_len=150, plain_only=True)

    def _section(self, block: dict[str, Any], pointer: str) -> None:
        fields = block.get("fields")
        if block.get("text") is None and not fields:
            self.fail("must provide either text or fields", pointer)
        if block.get("text") is not None:
            self.text_object(block["text"], f"{pointer}/text", max_len=3000)
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > 10:
                self.fail("must be a list of at most 10 items", f"{pointer}/fields")
            else:
                for i, item in enumerate(fields):
                    self.text_object(item, f"{pointer}/fields/{i}", max_len=2000)
        if block.get("accessory") is not None:
            self.element(block["accessory"], f"{pointer}/accessory")

    def _context(self, block: dict[str, Any], pointer: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            self.fail("must be a list of 1 to 10 items", f"{pointer}/elements")
            return
        for i, item in enumerate(elements):
            if isinstance(item, dict) and item.get("type") == "image":
                continue
            self.text_object(item, f"{pointer}/elements/{i}", max_len=3000)

    def _divider(self, block: dict[str, Any], pointer: str) -> None:
        return

    def _actions(self, block: dict[str, Any], pointer: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            self.fail("must be a list of 1 to 25 items", f"{pointer}/elements")
            return
        for i, item in enumerate(elements):
            self.element(item, f"{pointer}/elements/{i}")

    def _image(self, block: dict[str, Any], pointer: str) -> None:
        if not block.get("image_url") and not block.get("slack_file"):
            self.fail("must provide image_url or slack_file", pointer)
        if not isinstance(block.get("alt_text"), str) or not block["alt_text"]:
            self.fail("must be more than 0 characters", f"{pointer}/alt_text")

    def _rich_text(self, block: dict[str, Any], pointer: str) -> None:
        if not isinstance(block.get("elements"), list):
            self.fail("must be a list", f"{pointer}/elements")

    def _input(self, block: dict[str, Any], pointer: str) -> None:
        self.text_object(block.get("label"), f"{pointer}/label", max_len=2000, plain_only=True)
        if block.get("element") is None:
            self.fail("element is required", f"{pointer}/element")
        else:
            self.element(block["element"], f"{pointer}/element")


def block_errors(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS, root: str = "/blocks") -> list[str]:
    """Every problem found in ``blocks``; an empty list means Slack would accept them."""
    checker = _Checker()
    if not isinstance(blocks, list):
        checker.fail("must be a list of block objects", root)
        return checker.errors
    if len(blocks) > max_blocks:
        checker.fail(f"no more than {max_blocks} items allowed", root)
    for i, block in enumerate(blocks):
        checker.block(block, f"{root}/{i}")
    return checker.errors
