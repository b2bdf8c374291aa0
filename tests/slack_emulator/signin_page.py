"""The HTML of the emulator's sign-in step: plain forms, no script.

The person's choice is one submit button per person who can sign in, labelled
``Sign in as <real name>`` with id ``sign-in-<user id>``, members of this workspace first
and then those of other workspaces under their team's name; ``Cancel`` (id ``cancel``)
goes back to the app with ``error=access_denied``.
"""

from __future__ import annotations

from html import escape
from itertools import groupby

from .openid import AuthRequest
from .state import Person, Workspace

AUTHORIZE_PATH = "/openid/connect/authorize"
_SCOPE_WORDS = {"openid": "confirm your identity", "profile": "view your name and profile picture",
                "email": "view your email address"}


def sign_in_page(ws: Workspace, request: AuthRequest) -> str:
    people = ws.people()
    members = [p for p in people if p.team_id == ws.team_id]
    others = sorted((p for p in people if p.team_id != ws.team_id), key=lambda p: p.team_id)
    asks = "".join(f"<li>{escape(_SCOPE_WORDS[s])} ({escape(s)})</li>" for s in request.scopes)
    sections = [_people(members)]
    for _, group in groupby(others, key=lambda p: p.team_id):
        team = list(group)
        sections.append(f"<h2>Or sign in to {escape(team[0].team_name)}</h2>{_people(team)}")
    body = (
        f"<h1>Sign in to {escape(ws.team_name)}</h1>"
        f"<p>{escape(request.client.name)} would like to:</p><ul>{asks}</ul>"
        f'<form method="post" action="{AUTHORIZE_PATH}">'
        f'<input type="hidden" name="request" value="{escape(request.id)}">'
        f"{''.join(sections)}"
        '<p><button type="submit" name="cancel" value="cancel" id="cancel">Cancel</button></p>'
        "</form>"
    )
    return _document(f"Sign in to {ws.team_name} | Slack", body)


def error_page(message: str) -> str:
    return _document("Sign in with Slack | Slack", f"<h1>Something went wrong</h1><p role=\"alert\">{escape(message)}</p>")


def _people(people: list[Person]) -> str:
    items = "".join(
        f'<li><button type="submit" name="user" value="{escape(p.id)}" id="sign-in-{escape(p.id)}">'
        f"Sign in as {escape(p.real_name)}</button> {escape(p.email)}</li>"
        for p in people
    )
    return f"<ul>{items}</ul>" if items else "<p>Nobody here can sign in.</p>"


def _document(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body><main>{body}</main></body></html>")
