"""When the bot does not do what the story needs, the demo says what is missing and exits 1."""

from __future__ import annotations

import io
from pathlib import Path

from bot.demo import DEMO_PLAYBOOKS, run_demo


def test_a_playbook_that_declares_nothing_fails_the_demo_with_the_reason(tmp_path: Path) -> None:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    text = (DEMO_PLAYBOOKS / "checkout.yml").read_text()
    (playbooks / "checkout.yml").write_text(text.replace("    matchers: ['team=\"checkout\"']\n",
                                                          "    matchers: ['team=\"checkout\"']\n    auto_declare: false\n"))
    out = io.StringIO()
    assert run_demo(out, directory=tmp_path / "out", playbooks_dir=playbooks, rich=False) == 1
    assert "✖ demo failed: the group was only recorded: no incident channel was created" in out.getvalue()


def test_a_broken_playbook_is_named_not_a_traceback(tmp_path: Path) -> None:
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "checkout.yml").write_text((DEMO_PLAYBOOKS / "checkout.yml").read_text().replace("period: 1w", "period: soon"))
    out = io.StringIO()
    assert run_demo(out, directory=tmp_path / "out", playbooks_dir=playbooks, rich=False) == 1
    assert "checkout.yml: rotations.checkout-oncall.period" in out.getvalue()
