"""`incident-bot demo --web`: after the story the bot stays up with its web workspace, a newcomer
signs in through the console Slack's stand-in for Sign in with Slack, sees the incidents and the
demo's incident, and Ctrl-C stops it cleanly."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.support.bot import free_port
from tests.support.cli import cli_env

READY = "Ctrl-C to stop."


class SignInForm(HTMLParser):
    """The stand-in's form: where it posts, its hidden fields, and the people's buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.people: dict[str, str] = {}  # button text -> user id
        self._button: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = found.get("action", "")
        elif tag == "input" and found.get("type") == "hidden":
            self.hidden[found["name"]] = found.get("value", "")
        elif tag == "button" and found.get("name") == "user":
            self._button = found.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self.people[data.strip()] = self._button
            self._button = None


def demo_env(tmp_path: Path) -> dict[str, str]:
    env = cli_env(tmp_path, PYTHONPATH=str(REPO))  # this checkout's code, whichever is installed
    del env["DATABASE_URL"], env["PLAYBOOKS_DIR"]  # the demo needs neither
    return env


def start_demo(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    env = demo_env(tmp_path)
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "demo", "--web", "--port", str(port), "--dir",
                             str(tmp_path / "out")], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def read_until_ready(demo: subprocess.Popen[str], timeout: float = 60) -> str:
    assert demo.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = demo.stdout.readline()
        if not line:
            raise AssertionError(f"the demo exited with {demo.wait()} before serving:\n{''.join(seen)}")
        seen.append(line)
        if READY in line:
            return "".join(seen)
    raise AssertionError(f"the demo did not serve within {timeout} s:\n{''.join(seen)}")


def test_demo_web_serves_the_workspace_with_a_local_sign_in_until_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    demo = start_demo(tmp_path, port)
    try:
        before = read_until_ready(demo)
        opened = re.search(rf"Open (http://127\.0\.0\.1:{port}/ui/incidents/(\d+))", before)
        assert opened, before
        page_url, incident_id = opened.group(1), opened.group(2)

        with httpx.Client(follow_redirects=True, timeout=15) as browser:
            sign_in = browser.get(page_url)  # -> /ui/login -> the console Slack's authorize page
            assert sign_in.status_code == 200 and "/openid/connect/authorize" in str(sign_in.url), sign_in.text
            form = SignInForm()
            form.feed(sign_in.text)
            assert set(form.people) == {"Sign in as Alice", "Sign in as Bob", "Sign in as Carol"}
            landed = browser.post(str(sign_in.url.join(form.action)),
                                  data={**form.hidden, "user": form.people["Sign in as Alice"]})
            assert landed.status_code == 200, landed.text
            assert str(landed.url) == page_url  # back on the incident's page, signed in
            assert "CheckoutErrorRate in checkout" in landed.text and "Alice" in landed.text

            incidents = browser.get(f"http://127.0.0.1:{port}/ui/")
            assert incidents.status_code == 200
            assert f'href="/ui/incidents/{incident_id}"' in incidents.text
            assert "CheckoutErrorRate in checkout" in incidents.text
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            rest, _ = demo.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
    assert demo.returncode == 0, rest
    assert "@alice signs in to the bot's web workspace with Slack" in rest
    assert "Stopping the demo." in rest and "Traceback" not in rest


def test_demo_web_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        demo = start_demo(tmp_path, taken.getsockname()[1])
        out, _ = demo.communicate(timeout=60)
    assert demo.returncode == 1
    assert "cannot serve the web workspace on 127.0.0.1:" in out and "choose another port with --port" in out


def test_port_without_web_is_refused(tmp_path: Path) -> None:
    env = demo_env(tmp_path)
    done = subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--port", "9000"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--port: only with --web" in done.stderr
