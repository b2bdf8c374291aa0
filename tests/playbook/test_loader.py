from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from bot.playbook import (
    Matcher,
    Playbook,
    PlaybookError,
    PlaybookProblem,
    check_playbooks,
    load_playbooks,
)

REPO = Path(__file__).resolve().parents[2]

SEVERITIES = """\
severities:
  - {name: sev1, description: Critical, update_every: 30m, ack_timeout: 5m}
  - {name: sev2, description: Major, update_every: 1h, ack_timeout: 15m}
  - {name: sev3, description: Minor, update_every: 4h, ack_timeout: 1h}
"""

CATCH_ALL = """\
  - name: catch-all
    auto_declare: false
    severity: {default: sev3}
"""


def route(name: str, *fields: str) -> str:
    """One YAML route entry, indented for the ``routes:`` list."""
    return f"  - name: {name}\n" + "".join(f"    {field}\n" for field in fields)


def write(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def playbook(name: str, routes: str, *, extra: str = "", priority: int = 100) -> str:
    return f"name: {name}\npriority: {priority}\n{SEVERITIES}{extra}routes:\n{routes}"


def lines(directory: Path) -> list[str]:
    return [str(problem) for problem in check_playbooks(directory)]


def test_shipped_default_playbook_loads_without_problems() -> None:
    assert check_playbooks(REPO / "playbooks") == []
    playbooks = load_playbooks(REPO / "playbooks")
    assert [rm.key for rm in playbooks.routes] == [
        ("default", "critical"),
        ("default", "catch-all"),
    ]
    assert playbooks.match({"severity": "page"}).key == ("default", "critical")  # type: ignore[union-attr]
    assert playbooks.match({"severity": "info"}).key == ("default", "catch-all")  # type: ignore[union-attr]


def test_valid_playbook_parses_into_typed_models(tmp_path: Path) -> None:
    routes = (
        """\
  - name: payments
    matchers: ['team="payments"', 'severity=~"critical|page"']
    auto_declare: {matchers: ['env="production"'], min_severity: sev2}
    severity: {map: {critical: sev1, page: sev1}, default: sev2}
    commander: {rotation: primary}
    reopen_window: 0s
"""
        + CATCH_ALL
    )
    rotations = """\
rotations:
  primary: {users: [U01, U02], start: "2026-01-05T09:00", period: 1w, timezone: Europe/Berlin}
"""
    write(tmp_path, "payments.yml", playbook("payments", routes, extra=rotations))
    loaded = load_playbooks(tmp_path)
    pb = loaded.get("payments")
    route = pb.routes[0]
    assert route.matchers == (
        Matcher("team", "=", "payments"),
        Matcher("severity", "=~", "critical|page"),
    )
    assert route.reopen_window == timedelta(0)
    assert pb.severity("sev1").update_every == timedelta(minutes=30)
    assert pb.rotations["primary"].period == timedelta(weeks=1)
    assert route.severity.severity_for({"severity": "page"}) == "sev1"
    assert route.severity.severity_for({}) == "sev2"
    production = {"team": "payments", "severity": "page", "env": "production"}
    assert pb.should_auto_declare(route, production, "sev1")
    assert not pb.should_auto_declare(route, production, "sev3")
    assert not pb.should_auto_declare(route, {**production, "env": "staging"}, "sev1")
    assert not pb.should_auto_declare(pb.routes[1], production, "sev1")
    assert loaded.files == (tmp_path / "payments.yml",)


def test_severity_order_is_most_severe_first(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", playbook("a", CATCH_ALL))
    pb = load_playbooks(tmp_path).get("a")
    assert [pb.severity_rank(n) for n in ("sev1", "sev2", "sev3")] == [0, 1, 2]
    assert pb.more_severe("sev3", "sev1") == "sev1"
    assert pb.more_severe("sev2", "sev3") == "sev2"
    with pytest.raises(KeyError, match="unknown severity"):
        pb.severity("sev9")


def test_unknown_key_is_reported_with_the_allowed_keys(tmp_path: Path) -> None:
    routes = route("r", "colour: red", "severity: {default: sev3}")
    file = write(tmp_path, "a.yml", playbook("a", routes))
    assert lines(tmp_path) == [
        f"{file}: routes[0].colour: unknown key (allowed: name, matchers, auto_declare, severity, "
        "commander, responders, title, channel, reopen_window, links, trace_url, triage_channel, storm_guard, auto_resolve, archive_after)"
    ]


def test_bad_duration_is_reported_with_the_expected_form(tmp_path: Path) -> None:
    body = playbook("a", CATCH_ALL).replace("update_every: 1h,", "update_every: 1 hour,")
    file = write(tmp_path, "a.yml", body)
    assert lines(tmp_path) == [
        f"{file}: severities[1].update_every: expected a duration like 30s, 5m, 1h30m, 2d "
        '(units: w, d, h, m, s, ms; largest first), got "1 hour"'
    ]


def test_unknown_severity_reference_names_the_known_severities(tmp_path: Path) -> None:
    routes = (
        route("first", "matchers: [a=b]", "severity: {map: {critical: sev9}, default: sev1}")
        + CATCH_ALL
    )
    file = write(tmp_path, "a.yml", playbook("a", routes))
    assert lines(tmp_path) == [
        f'{file}: routes[0].severity.map.critical: unknown severity "sev9" '
        "(known: sev1, sev2, sev3)"
    ]


def test_unknown_rotation_is_reported(tmp_path: Path) -> None:
    routes = route(
        "r", "matchers: [a=b]", "severity: {default: sev1}", "commander: {rotation: nightly}"
    )
    file = write(tmp_path, "a.yml", playbook("a", routes + CATCH_ALL))
    assert lines(tmp_path) == [
        f'{file}: routes[0].commander.rotation: unknown rotation "nightly" '
        "(this playbook defines no rotations)"
    ]


def test_invalid_matcher_regex_is_reported(tmp_path: Path) -> None:
    routes = route(
        "r", "matchers: ['team=\"x\"', 'service=~\"(api\"']", "severity: {default: sev1}"
    )
    file = write(tmp_path, "a.yml", playbook("a", routes + CATCH_ALL))
    assert lines(tmp_path) == [
        f'{file}: routes[0].matchers[1]: invalid regular expression "(api": '
        "missing ): (api"
    ]


def test_yaml_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    file = write(tmp_path, "a.yml", "name: a\nroutes:\n  - name: x\n   bad: indent\n")
    assert lines(tmp_path) == [
        f"{file}: line 4: invalid YAML: expected <block end>, but found '<block mapping start>' "
        "(while parsing a block collection)"
    ]


def test_duplicate_yaml_key_is_reported_instead_of_silently_overwritten(tmp_path: Path) -> None:
    file = write(tmp_path, "a.yml", playbook("a", CATCH_ALL) + "name: b\n")
    assert lines(tmp_path) == [f'{file}: line 11: invalid YAML: duplicate key "name"']


def test_route_after_catch_all_is_reported_unreachable(tmp_path: Path) -> None:
    routes = CATCH_ALL + route("late", "matchers: [a=b]", "severity: {default: sev1}")
    file = write(tmp_path, "a.yml", playbook("a", routes))
    assert lines(tmp_path) == [
        f'{file}: routes[1]: route "late" is unreachable: catch-all route "catch-all" (routes[0]) '
        "takes every alert group first (playbooks run by priority, then file name)"
    ]


def test_route_in_a_later_playbook_after_a_catch_all_is_unreachable(tmp_path: Path) -> None:
    first = write(tmp_path, "z-first.yml", playbook("first", CATCH_ALL, priority=1))
    second = write(
        tmp_path,
        "a-second.yml",
        playbook(
            "second",
            route("r", "matchers: [a=b]", "severity: {default: sev1}"),
            priority=2,
        ),
    )
    assert lines(tmp_path) == [
        f'{second}: routes[0]: route "r" is unreachable: catch-all route "catch-all" ({first}) '
        "takes every alert group first (playbooks run by priority, then file name)"
    ]


def test_missing_catch_all_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yml",
        playbook("a", route("r", "matchers: [a=b]", "severity: {default: sev1}")),
    )
    assert lines(tmp_path) == [
        f"{tmp_path}: routes: no catch-all route: add a last route without matchers "
        "(auto_declare: false) so alert groups that match nothing are still recorded"
    ]


def test_commander_with_both_rotation_and_user_is_reported(tmp_path: Path) -> None:
    routes = route(
        "r", "severity: {default: sev1}", "commander: {rotation: primary, user: U0123ABCD}"
    )
    rotations = (
        "rotations:\n"
        '  primary: {users: [U01], start: "2026-01-05T09:00", period: 1d, timezone: UTC}\n'
    )
    file = write(tmp_path, "a.yml", playbook("a", routes, extra=rotations))
    assert lines(tmp_path) == [
        f"{file}: routes[0].commander: set exactly one of rotation or user (both are set)"
    ]


def test_all_problems_in_all_files_are_reported(tmp_path: Path) -> None:
    bad_a = playbook(
        "a",
        route("r", "matchers: [a=b]", "severity: {default: sev7}", "title: '{{ x }'"),
    )
    bad_a = bad_a.replace("ack_timeout: 5m", "ack_timeout: soon")
    a = write(tmp_path, "a.yml", bad_a)
    b = write(tmp_path, "b.yaml", "name: b\nroutes: [\n")
    c = write(tmp_path, "c.yml", playbook("a", CATCH_ALL))
    write(tmp_path, "notes.txt", "not a playbook")
    assert lines(tmp_path) == [
        f"{a}: severities[0].ack_timeout: expected a duration like 30s, 5m, 1h30m, 2d "
        '(units: w, d, h, m, s, ms; largest first), got "soon"',
        f"{a}: routes[0].title: invalid template: unexpected '}}' (template line 1)",
        f'{a}: routes[0].severity.default: unknown severity "sev7" (known: sev1, sev2, sev3)',
        f"{b}: line 3: invalid YAML: expected the node content, but found '<stream end>' "
        "(while parsing a flow node)",
    ]
    write(tmp_path, "a.yml", playbook("a", CATCH_ALL, priority=1))
    b.unlink()
    assert lines(tmp_path) == [
        f'{c}: name: playbook name "a" is already used by {a}',
        f'{c}: routes[0]: route "catch-all" is unreachable: catch-all route "catch-all" ({a}) '
        "takes every alert group first (playbooks run by priority, then file name)",
    ]


def test_empty_directory_is_a_problem(tmp_path: Path) -> None:
    assert lines(tmp_path) == [
        f"{tmp_path}: (directory): no playbook files (*.yml, *.yaml); "
        "see playbooks/default.yml for an example"
    ]


def test_empty_file_and_non_mapping_file_are_problems(tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.yml", "")
    listy = write(tmp_path, "list.yml", "- a\n- b\n")
    assert lines(tmp_path) == [
        f"{empty}: (top level): file is empty; "
        "expected a playbook with name, severities and routes",
        f"{listy}: (top level): expected a mapping of keys, got a list",
    ]


def test_load_playbooks_raises_with_every_problem(tmp_path: Path) -> None:
    file = write(tmp_path, "a.yml", "name: a\n")
    with pytest.raises(PlaybookError) as caught:
        load_playbooks(tmp_path)
    assert caught.value.problems == [
        PlaybookProblem(str(file), "severities", "missing required key"),
        PlaybookProblem(str(file), "routes", "missing required key"),
    ]
    assert str(caught.value).splitlines()[1] == f"{file}: severities: missing required key"


def test_first_match_wins_across_files_ordered_by_priority(tmp_path: Path) -> None:
    team_route = route("payments", "matchers: ['team=\"payments\"']", "severity: {default: sev2}")
    write(tmp_path, "a-default.yml", playbook("default", team_route + CATCH_ALL, priority=1000))
    write(tmp_path, "z-payments.yml", playbook("payments", team_route, priority=10))
    loaded = load_playbooks(tmp_path)
    assert [pb.name for pb in loaded.playbooks] == ["payments", "default"]
    assert [rm.key for rm in loaded.routes] == [
        ("payments", "payments"),
        ("default", "payments"),
        ("default", "catch-all"),
    ]
    assert loaded.match({"team": "payments"}).key == ("payments", "payments")  # type: ignore[union-attr]
    assert loaded.match({"team": "search"}).key == ("default", "catch-all")  # type: ignore[union-attr]


def test_equal_priorities_are_ordered_by_file_name(tmp_path: Path) -> None:
    write(tmp_path, "b.yml", playbook("b", CATCH_ALL))
    write(
        tmp_path,
        "a.yml",
        playbook("a", route("r", "matchers: [a=b]", "severity: {default: sev1}")),
    )
    assert [pb.name for pb in load_playbooks(tmp_path).playbooks] == ["a", "b"]


def test_playbook_can_be_built_from_python_values() -> None:
    pb = Playbook.model_validate(
        {
            "name": "py",
            "severities": [
                {"name": "sev1", "description": "x", "update_every": "1h", "ack_timeout": "5m"}
            ],
            "routes": [{"name": "all", "severity": {"default": "sev1"}}],
        }
    )
    assert pb.routes[0].is_catch_all
    assert pb.model_dump(mode="json")["severities"][0]["update_every"] == "1h"


def test_postmortem_due_and_channel_are_checked_by_field(tmp_path: Path) -> None:
    body = playbook("a", CATCH_ALL).replace("update_every: 1h,", "update_every: 1h, postmortem_due: 0s,")
    body = body.replace("update_every: 30m,", "update_every: 30m, postmortem_due: three days,")
    file = write(tmp_path, "a.yml", body + "postmortem_channel: eng leads\n")
    problems = lines(tmp_path)
    assert problems[0] == (f"{file}: severities[0].postmortem_due: expected a duration like 30s, 5m, 1h30m, 2d "
                           '(units: w, d, h, m, s, ms; largest first), got "three days"')
    assert problems[1].startswith(f"{file}: severities[1].postmortem_due: ")
    assert problems[2].startswith(f"{file}: postmortem_channel: ")
    assert len(problems) == 3


def test_postmortem_due_is_kept_per_severity(tmp_path: Path) -> None:
    body = playbook("a", CATCH_ALL).replace("update_every: 30m,", "update_every: 30m, postmortem_due: 72h,")
    write(tmp_path, "a.yml", body + 'postmortem_channel: "#eng-leads"\n')
    [pb] = load_playbooks(tmp_path).playbooks
    assert pb.severity("sev1").postmortem_due == timedelta(hours=72)
    assert pb.severity("sev2").postmortem_due is None
    assert pb.postmortem_channel == "#eng-leads"
