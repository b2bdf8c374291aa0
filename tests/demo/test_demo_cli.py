"""`incident-bot demo` as a newcomer runs it: the installed command, no tokens, no network,
output to a pipe. The transcript must tell the whole incident and the draft must exist.
The output directory holds a database from an earlier run: the demo starts over."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.cli import cli_env

INSTALLED = Path(sys.executable).parent / "incident-bot"
TIME_LIMIT = 15.0  # the promise for the whole story


def run_demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(INSTALLED)] if INSTALLED.exists() else [sys.executable, "-m", "bot.cli"]
    env = cli_env(tmp_path)
    del env["DATABASE_URL"], env["PLAYBOOKS_DIR"]  # the demo needs neither
    return subprocess.run([*command, "demo", *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=90, check=False)


def in_order(text: str, *fragments: str) -> None:
    at = 0
    for fragment in fragments:
        found = text.find(fragment, at)
        assert found >= 0, f"{fragment!r} missing after position {at} in:\n{text}"
        at = found + len(fragment)


def test_demo_tells_one_incident_from_alert_to_postmortem(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "incident-bot-demo.db").write_text("left over from an earlier run")
    result = run_demo(tmp_path, "--dir", str(out_dir))
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in out + result.stderr
    assert "\033[" not in out, "a pipe gets plain text, no colour codes"

    channel = re.search(r"#(inc-\d{8}-1-checkout-error-rate-in-checkout) created", out)
    assert channel, out
    commander = re.search(r"Commander: @(\w+) \(not yet acknowledged\)", out)
    assert commander, "the header names the commander, waiting for acknowledgement"
    name = commander.group(1)
    in_order(
        out,
        "▶ Alertmanager sends a group", "answered 200 once stored: open, incident #1",
        f"#{channel.group(1)}: topic set to “SEV2 · Investigating · commander @{name}",
        "▌ SEV2 · CheckoutErrorRate in checkout", "message pinned",
        "▶ Alertmanager sends the group again", "answered 200 once stored: join, incident #1",
        "⏩ 1 minute later", f"@{name} presses [Acknowledge]", f"Commander: @{name}   Started",
        "a stakeholder update is due",
        f"@{name} types in #{channel.group(1)}: /incident update Rolled back",
        "#incidents · incident-bot", "Update on incident #1",
        "▶ Alertmanager sends the group resolved", "All alerts have resolved",
        "/incident resolve", "#incidents · incident-bot", "Final update on incident #1",
        "file incident-1-postmortem.md shared",
    )
    assert "Severity raised SEV2 → SEV1" in out
    assert re.search(r"Runbook \(https://runbooks\.example\.com/checkout/error-rate\)", out)
    assert re.search(r"Grafana: checkout overview \(https://grafana\.example\.com/d/checkout", out)
    assert "Trace 4bf92f3577b34da6a3ce929d0e0e4736" in out

    draft = out_dir / "incident-1-postmortem.md"
    assert f"Postmortem draft: {draft}" in out
    text = draft.read_text()
    assert text.startswith("# Postmortem #1: CheckoutErrorRate in checkout")
    in_order(text, "Incident opened by Alertmanager as **SEV2**", "**SEV2** → **SEV1**",
             "acknowledged as commander", "Note by", "Stakeholder update by", "2 alerts resolved",
             "resolved the incident: Bad deploy v2.42.0 rolled back")

    took = float(re.search(r"Took ([\d.]+) s", out).group(1))  # type: ignore[union-attr]
    assert took < TIME_LIMIT, f"the demo took {took} s"
