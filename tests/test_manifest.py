"""The Slack app manifest asks for exactly what the code uses.

The bot's source is read (not imported) for every Slack Web API method it calls, through
the gateway (``.call("chat.postMessage", ...)``) or a Bolt client
(``client.views_open(...)``), and for every event it registers with Bolt. Each method maps
to its bot scopes with the table below (PROTOCOLS B4 and Slack's method reference), and the
manifest's scopes must equal the union: a new method without its scope fails here, and so
does a scope nothing uses any more. A method missing from the table fails too, asking for
its scopes to be added.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Settings

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "slack-app-manifest.yml"
SOURCE = REPO / "bot"
EVENTS_PATH = "/slack/events"

# Bot-token scopes per Web API method, for public channels. Methods whose scope depends on
# an argument (private channels) are handled in ArgumentScopes below.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "views.open": frozenset(),          # a trigger_id is the permission
    "views.update": frozenset(),
    "views.push": frozenset(),
    "chat.getPermalink": frozenset(),   # "No scope required" in Slack's reference
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.delete": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "conversations.create": frozenset({"channels:manage"}),
    "conversations.invite": frozenset({"channels:manage"}),
    "conversations.setTopic": frozenset({"channels:manage"}),
    "conversations.setPurpose": frozenset({"channels:manage"}),
    "conversations.rename": frozenset({"channels:manage"}),
    "conversations.archive": frozenset({"channels:manage"}),
    "conversations.join": frozenset({"channels:join"}),
    "conversations.list": frozenset({"channels:read"}),
    "conversations.info": frozenset({"channels:read"}),
    "conversations.members": frozenset({"channels:read"}),
    "conversations.history": frozenset({"channels:history"}),
    # A direct message: opened with im:write; its retry reads the conversation's history,
    # which in a direct message needs im:history (bot/delivery/direct_messages.py).
    "conversations.open": frozenset({"im:write", "im:history"}),
    "conversations.replies": frozenset({"channels:history"}),
    "pins.add": frozenset({"pins:write"}),
    "pins.remove": frozenset({"pins:write"}),
    "pins.list": frozenset({"pins:read"}),
    "bookmarks.add": frozenset({"bookmarks:write"}),
    "bookmarks.edit": frozenset({"bookmarks:write"}),
    "bookmarks.remove": frozenset({"bookmarks:write"}),
    "bookmarks.list": frozenset({"bookmarks:read"}),
    "reactions.add": frozenset({"reactions:write"}),
    "reactions.get": frozenset({"reactions:read"}),
    "users.info": frozenset({"users:read"}),
    "users.lookupByEmail": frozenset({"users:read", "users:read.email"}),
    "usergroups.list": frozenset({"usergroups:read"}),
    "usergroups.users.list": frozenset({"usergroups:read"}),
    "files.getUploadURLExternal": frozenset({"files:write"}),
    # slack_sdk's helper (getUploadURLExternal, upload, completeUploadExternal), which the
    # gateway reaches as client.files_upload_v2.
    "files.upload_v2": frozenset({"files:write"}),
    "files.completeUploadExternal": frozenset({"files:write"}),
    "canvases.create": frozenset({"canvases:write"}),
    "canvases.edit": frozenset({"canvases:write"}),
    # Sign in with Slack: the app's client credentials, then the person's user token; no bot scope.
    "openid.connect.token": frozenset(),
    "openid.connect.userInfo": frozenset(),
}
# The user scopes of Sign in with Slack, and the only ones: the bot acts with its bot token.
SIGN_IN_SCOPES = frozenset({"openid", "profile", "email"})
SIGN_IN_CALLBACK = "/ui/auth/callback"

# Bot events and the scope that delivers them (Slack's Events API reference).
EVENT_SCOPES: dict[str, frozenset[str]] = {
    "reaction_added": frozenset({"reactions:read"}),
    "reaction_removed": frozenset({"reactions:read"}),
    "member_joined_channel": frozenset({"channels:read"}),
    "member_left_channel": frozenset({"channels:read"}),
    "app_mention": frozenset({"app_mentions:read"}),
    "message.channels": frozenset({"channels:history"}),
    "message.groups": frozenset({"groups:history"}),
    "message.im": frozenset({"im:history"}),
    "message.mpim": frozenset({"mpim:history"}),
    "channel_archive": frozenset({"channels:read"}),
    "channel_rename": frozenset({"channels:read"}),
}
# Bolt registers "message"; the manifest subscribes to where messages come from.
MESSAGE_SUBSCRIPTIONS = frozenset({"message.channels", "message.groups", "message.im", "message.mpim"})

_METHOD_NAME = re.compile(r"^[a-z]+(\.[a-zA-Z0-9_]+)+$")
_BOLT_CLIENT_METHODS = {method.replace(".", "_"): method for method in METHOD_SCOPES}


@dataclass(frozen=True)
class MethodCall:
    method: str
    where: str
    keywords: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Scan:
    calls: list[MethodCall] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # event name -> (where, whether its handler does something)
    events: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    listener_kinds: set[str] = field(default_factory=set)


_NOT_LITERAL = object()


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return _NOT_LITERAL


def _receiver_is_client(node: ast.expr) -> bool:
    """``client.x(...)`` (Bolt's injected client) or ``something.client.x(...)``."""
    return (isinstance(node, ast.Name) and node.id == "client") or \
        (isinstance(node, ast.Attribute) and node.attr == "client")


def _is_noop(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # docstring
    for statement in body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Return) and (statement.value is None or _literal(statement.value) is None):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue
        return False
    return True


def scan_source(text: str, where: str) -> Scan:
    """Find Web API calls and Bolt event registrations in one module's source."""
    scan = Scan()
    tree = ast.parse(text, filename=where)
    uses_bolt = "slack_bolt" in text
    functions = {node.name: node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        attr, receiver = node.func.attr, node.func.value
        at = f"{where}:{node.lineno}"
        keywords = {k.arg: _literal(k.value) for k in node.keywords if k.arg is not None}

        if attr in ("call", "api_call"):
            first = _literal(node.args[0]) if node.args else _NOT_LITERAL
            if isinstance(first, str) and _METHOD_NAME.match(first):
                scan.calls.append(MethodCall(first, at, keywords))
            elif attr == "api_call" or "slack" in ast.unparse(receiver).lower() or "gateway" in ast.unparse(receiver):
                scan.problems.append(f"{at}: {ast.unparse(node)[:80]}: the method name must be a string literal "
                                     "so that this test can check its scope")
        elif _receiver_is_client(receiver) and uses_bolt:
            method = _BOLT_CLIENT_METHODS.get(attr)
            if method is None:
                scan.problems.append(f"{at}: client.{attr}(...) is not in METHOD_SCOPES; add the Web API method "
                                     "and its bot scopes to the table in tests/test_manifest.py")
            else:
                scan.calls.append(MethodCall(method, at, keywords))

        if uses_bolt and attr in ("event", "message", "command", "action", "view", "shortcut", "options"):
            scan.listener_kinds.add(attr)
        if uses_bolt and attr in ("event", "message"):
            event = "message" if attr == "message" else _event_name(node)
            if event is None:
                continue
            scan.events.setdefault(event, []).append((at, _handler_does_something(tree, node, functions)))
    return scan


def _event_name(node: ast.Call) -> str | None:
    if not node.args:
        return None
    value = _literal(node.args[0])
    if isinstance(value, dict):
        value = value.get("type")
    # Bolt event types are plain words; dotted names are timeline events, not Slack's.
    return value if isinstance(value, str) and re.fullmatch(r"[a-z_]+", value) else None


def _handler_does_something(tree: ast.AST, registration: ast.Call,
                            functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]) -> bool:
    """True unless the listener is a function that only returns: ``bolt.event("x")(ignore)``
    or ``@bolt.event("x")`` on such a function."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.func is registration and node.args \
                and isinstance(node.args[0], ast.Name) and node.args[0].id in functions:
            return not _is_noop(functions[node.args[0].id])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and registration in node.decorator_list:
            return not _is_noop(node)
    return True


def scan_bot() -> Scan:
    total = Scan()
    for path in sorted(SOURCE.rglob("*.py")):
        one = scan_source(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
        total.calls += one.calls
        total.problems += one.problems
        total.listener_kinds |= one.listener_kinds
        for event, places in one.events.items():
            total.events.setdefault(event, []).extend(places)
    return total


def method_scopes(call: MethodCall) -> frozenset[str]:
    """The bot scopes one call needs, including those its arguments add."""
    scopes = set(METHOD_SCOPES[call.method])
    if call.method in ("conversations.list", "users.conversations"):
        types = call.keywords.get("types", "public_channel")
        types = "private_channel" if types is _NOT_LITERAL else str(types)
        for kind, scope in (("private_channel", "groups:read"), ("mpim", "mpim:read"), ("im", "im:read")):
            if kind in types.split(","):
                scopes.add(scope)
    if call.method == "conversations.create" and call.keywords.get("is_private", False) is not False:
        scopes.add("groups:write")
    return frozenset(scopes)


def required_scopes(scan: Scan, manifest: dict[str, Any]) -> dict[str, set[str]]:
    """Each required scope with the reasons it is required."""
    reasons: dict[str, set[str]] = {}
    for call in scan.calls:
        for scope in method_scopes(call):
            reasons.setdefault(scope, set()).add(f"{call.method} ({call.where})")
    if manifest["features"].get("slash_commands"):
        reasons.setdefault("commands", set()).add("slash command")
    for event in subscribed_events(manifest):
        for scope in EVENT_SCOPES[event]:
            reasons.setdefault(scope, set()).add(f"event {event}")
    return reasons


def subscribed_events(manifest: dict[str, Any]) -> list[str]:
    return list(manifest["settings"].get("event_subscriptions", {}).get("bot_events", []))


def handled_events(scan: Scan) -> dict[str, list[str]]:
    """Events with a listener that does something, and where they are registered."""
    return {event: [where for where, real in places if real]
            for event, places in scan.events.items() if any(real for _, real in places)}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def scan() -> Scan:
    return scan_bot()


def test_the_scan_finds_the_calls_the_bot_is_known_to_make(scan: Scan) -> None:
    # Guards the scanner itself: if these vanish, the parsing broke, not the bot.
    methods = {call.method for call in scan.calls}
    assert {"conversations.create", "chat.postMessage", "views.open"} <= methods
    assert "reaction_added" in scan.events


def test_every_called_method_has_a_known_scope(scan: Scan) -> None:
    unknown = sorted({f"{c.method} ({c.where})" for c in scan.calls if c.method not in METHOD_SCOPES})
    assert not scan.problems + unknown, \
        "add these Web API methods and their bot scopes to METHOD_SCOPES:\n" + "\n".join(scan.problems + unknown)


def test_manifest_bot_scopes_are_exactly_what_the_code_uses(scan: Scan, manifest: dict[str, Any]) -> None:
    granted = manifest["oauth_config"]["scopes"]["bot"]
    assert len(granted) == len(set(granted)), "a scope is listed twice"
    reasons = required_scopes(scan, manifest)
    missing = {scope: sorted(why) for scope, why in reasons.items() if scope not in granted}
    unused = sorted(set(granted) - set(reasons))
    assert not missing, f"the manifest lacks scopes the code needs: {missing}"
    assert not unused, f"the manifest asks for scopes nothing uses: {unused}"


def test_people_sign_in_with_slack_and_nothing_more(manifest: dict[str, Any]) -> None:
    oauth = manifest["oauth_config"]
    user_scopes = oauth["scopes"].get("user", [])
    assert len(user_scopes) == len(set(user_scopes)), "a user scope is listed twice"
    assert set(user_scopes) == SIGN_IN_SCOPES, "user scopes are Sign in with Slack's only; the bot acts as itself"
    # Slack redirects only to a listed URL, and the bot's callback is PUBLIC_URL + /ui/auth/callback.
    assert oauth["redirect_urls"], "Sign in with Slack needs a Redirect URL"
    request_url = manifest["settings"]["event_subscriptions"]["request_url"]
    for url in oauth["redirect_urls"]:
        assert url.startswith("https://") and url.endswith(SIGN_IN_CALLBACK), url
        assert url.removesuffix(SIGN_IN_CALLBACK) == request_url.removesuffix(EVENTS_PATH), \
            "the Redirect URL and the request URLs name the same bot"


def test_every_handled_event_is_subscribed_and_nothing_else(scan: Scan, manifest: dict[str, Any]) -> None:
    subscribed = set(subscribed_events(manifest))
    unknown = subscribed - set(EVENT_SCOPES)
    assert not unknown, f"add the scope of these events to EVENT_SCOPES: {sorted(unknown)}"
    handled = handled_events(scan)
    for event, where in handled.items():
        if event == "message":
            assert subscribed & MESSAGE_SUBSCRIPTIONS, f"message events are handled ({where}) but not subscribed"
        else:
            assert event in subscribed, f"{event} is handled ({where}) but the manifest does not subscribe to it"
    for event in subscribed:
        bolt_name = "message" if event in MESSAGE_SUBSCRIPTIONS else event
        assert bolt_name in handled, f"the manifest subscribes to {event} but no listener does anything with it"


def test_slash_command_matches_the_default_setting(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [Settings.model_fields["slash_command"].default]
    command = commands[0]
    assert command["url"].startswith("https://") and command["url"].endswith(EVENTS_PATH)
    assert command["should_escape"] is True, "the parser expects mentions escaped as <@U123|name>"
    assert command["description"] and command["usage_hint"]


def test_interactivity_and_events_reach_the_bot_over_http(scan: Scan, manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["interactivity"]["is_enabled"] is (bool({"action", "view"} & scan.listener_kinds))
    for url in (settings["interactivity"]["request_url"], settings["event_subscriptions"]["request_url"]):
        assert url.startswith("https://") and url.endswith(EVENTS_PATH)


def test_manifest_respects_slacks_schema_limits(manifest: dict[str, Any]) -> None:
    # The constraints of Slack's manifest schema (1.0.0) that apply to the fields used.
    assert set(manifest) <= {"_metadata", "display_information", "features", "oauth_config", "settings"}
    display = manifest["display_information"]
    assert set(display) <= {"name", "description", "background_color", "long_description"}
    assert 1 <= len(display["name"]) <= 35
    assert 1 <= len(display.get("description", "x")) <= 140
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", display.get("background_color", "#fff"))
    features = manifest["features"]
    assert set(features) <= {"app_home", "bot_user", "shortcuts", "slash_commands", "unfurl_domains"}
    assert 1 <= len(features["bot_user"]["display_name"]) <= 80
    for command in features["slash_commands"]:
        assert set(command) <= {"command", "url", "description", "usage_hint", "should_escape"}
        assert re.fullmatch(r"/\S{1,31}", command["command"])
        assert 1 <= len(command["description"]) <= 2000
        assert 1 <= len(command["usage_hint"]) <= 1000
    assert set(manifest["settings"]) <= {"event_subscriptions", "interactivity", "org_deploy_enabled",
                                         "socket_mode_enabled", "token_rotation_enabled", "allowed_ip_address_ranges",
                                         "incoming_webhooks"}
    assert set(manifest["oauth_config"]) <= {"redirect_urls", "scopes", "token_management_enabled"}
    assert set(manifest["oauth_config"]["scopes"]) <= {"bot", "user"}
    for scope in manifest["oauth_config"]["scopes"]["bot"]:
        assert re.fullmatch(r"[a-z_]+:[a-z_.]+|commands", scope), scope
    assert len(manifest["oauth_config"].get("redirect_urls", [])) <= 1000


# -- the checks above fail when they should ---------------------------------------------

def _required(source: str, manifest: dict[str, Any]) -> set[str]:
    return set(required_scopes(scan_source(source, "example.py"), manifest))


def test_a_new_method_call_needs_its_scope(manifest: dict[str, Any]) -> None:
    source = 'async def f(gateway):\n    await gateway.call("reactions.add", channel="C1", name="eyes", timestamp="1")\n'
    needed = _required(source, manifest) - set(manifest["oauth_config"]["scopes"]["bot"])
    assert needed == {"reactions:write"}


def test_a_bolt_client_call_is_found_and_an_unknown_one_is_reported() -> None:
    source = ("from slack_bolt.async_app import AsyncApp\n"
              "async def f(client):\n"
              "    await client.users_lookupByEmail(email='a@example.com')\n"
              "    await client.admin_users_remove(user='U1')\n")
    found = scan_source(source, "example.py")
    assert [c.method for c in found.calls] == ["users.lookupByEmail"]
    assert len(found.problems) == 1 and "admin_users_remove" in found.problems[0]


def test_private_channels_need_the_groups_scopes(manifest: dict[str, Any]) -> None:
    public = 'async def f(s):\n    await s.call("conversations.list", types="public_channel")\n'
    private = ('async def f(s):\n    await s.call("conversations.list", types="public_channel,private_channel")\n'
               '    await s.call("conversations.create", name="x", is_private=True)\n')
    assert "groups:read" not in _required(public, manifest)
    assert {"groups:read", "groups:write"} <= _required(private, manifest)


def test_a_method_name_the_scan_cannot_read_is_reported() -> None:
    found = scan_source('async def f(self, m):\n    await self._slack.call(m, channel="C1")\n', "example.py")
    assert found.problems and "string literal" in found.problems[0]


def test_a_listener_that_ignores_its_event_needs_no_subscription() -> None:
    source = ("from slack_bolt.async_app import AsyncApp\n"
              "def register(bolt):\n"
              "    async def ignore(body):\n        return None\n"
              "    async def seen(body, event):\n        print(event)\n"
              "    bolt.event('message')(ignore)\n"
              "    bolt.event('app_mention')(seen)\n"
              "    @bolt.event('reaction_added')\n"
              "    async def added(event):\n        print(event)\n")
    assert set(handled_events(scan_source(source, "example.py"))) == {"app_mention", "reaction_added"}



def test_the_message_shortcut_the_bot_handles_is_declared(manifest: dict[str, Any]) -> None:
    from bot.bolt.followup_shortcut import SHORTCUT

    shortcuts = manifest["features"].get("shortcuts", [])
    assert [(s["type"], s["callback_id"]) for s in shortcuts] == [("message", SHORTCUT)]
    for shortcut in shortcuts:  # the manifest schema's limits
        assert set(shortcut) == {"name", "type", "callback_id", "description"}
        assert 1 <= len(shortcut["name"]) <= 24 and 1 <= len(shortcut["description"]) <= 150
        assert 1 <= len(shortcut["callback_id"]) <= 255
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"], "shortcuts need the commands scope"
