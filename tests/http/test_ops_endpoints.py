"""Operations endpoints (/healthz, /readyz, /metrics) and what every response carries, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO
from tests.support.bot import WEBHOOK_TOKEN, bot_settings, running_bot
from tests.support.payloads import captured

PLAYBOOKS = REPO / "playbooks"
JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[str]:
    async with running_bot(bot_settings(database_url, PLAYBOOKS)) as url:
        yield url


@pytest.fixture
async def http(bot: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=bot, timeout=30) as client:
        yield client


def samples(exposition: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(exposition) for sample in family.samples}


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


async def test_healthz_says_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_and_migrations_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")

    assert response.status_code == 200
    ready = response.json()
    assert ready["ready"] is True
    assert ready["checks"]["database"] == "ok"
    assert ready["checks"]["migrations"] == "ok"
    assert all(check == "ok" for check in ready["checks"].values())


async def test_metrics_count_deliveries_by_outcome_open_incidents_and_requests(http: httpx.AsyncClient) -> None:
    accepted = await http.post("/alertmanager", content=captured("1-firing"), headers=JSON)
    rejected = await http.post("/alertmanager", content=captured("1-firing"),
                               headers={**JSON, "Authorization": "Bearer wrong"})
    assert (accepted.status_code, rejected.status_code) == (200, 401)

    response = await http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    found = samples(response.text)
    assert value(found, "incident_bot_webhook_deliveries_total", outcome="open") == 1.0
    assert value(found, "incident_bot_webhook_deliveries_total", outcome="rejected") == 1.0
    assert value(found, "incident_bot_webhook_alerts_total") == 2.0
    assert value(found, "incident_bot_open_incidents", severity="sev1") == 1.0
    assert value(found, "incident_bot_http_requests_total", endpoint="/alertmanager", method="POST", status="200") == 1.0
    assert value(found, "incident_bot_http_requests_total", endpoint="/alertmanager", method="POST", status="401") == 1.0
    assert value(found, "incident_bot_http_request_duration_seconds_count", endpoint="/alertmanager",
                 method="POST") == 2.0


async def test_metrics_label_unknown_paths_by_route_not_by_raw_path(http: httpx.AsyncClient) -> None:
    await http.get("/incidents/12345/whatever-ab12cd")
    await http.get("/nothing-here-ef34")

    found = samples((await http.get("/metrics")).text)

    endpoints = {dict(labels).get("endpoint") for (name, labels) in found if name == "incident_bot_http_requests_total"}
    assert not any("ab12cd" in e or "ef34" in e for e in endpoints if e), endpoints


async def test_metrics_show_no_open_incidents_before_any_delivery(http: httpx.AsyncClient) -> None:
    found = samples((await http.get("/metrics")).text)

    assert not [key for key in found if key[0] == "incident_bot_open_incidents"]


async def test_unknown_path_is_404_json_error(http: httpx.AsyncClient) -> None:
    response = await http.get("/no/such/endpoint")

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"error"} and response.json()["error"]


async def test_get_on_the_webhook_is_405_json_naming_post(http: httpx.AsyncClient) -> None:
    response = await http.get("/alertmanager")

    assert response.status_code == 405
    assert response.headers["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"error"} and "POST" in response.json()["error"]
    assert response.headers["Allow"] == "POST"  # RFC 9110: a 405 says which methods are allowed


@pytest.mark.parametrize(("method", "path", "headers", "status"), [
    ("GET", "/healthz", {}, 200),
    ("GET", "/readyz", {}, 200),
    ("GET", "/metrics", {}, 200),
    ("GET", "/no/such/endpoint", {}, 404),
    ("GET", "/alertmanager", {}, 405),
    ("POST", "/alertmanager", JSON, 200),
    ("POST", "/alertmanager", {"Content-Type": "application/json"}, 401),
    ("POST", "/alertmanager", {**JSON, "Content-Type": "text/plain"}, 415),
], ids=["healthz", "readyz", "metrics", "404", "405", "webhook-200", "webhook-401", "webhook-415"])
async def test_every_response_carries_a_request_id(
        http: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], status: int) -> None:
    response = await http.request(method, path, headers=headers, content=captured("1-firing") if method == "POST" else None)

    assert response.status_code == status
    assert response.headers.get("X-Request-Id")


async def test_request_ids_are_unique_per_request_and_a_caller_supplied_one_is_echoed(http: httpx.AsyncClient) -> None:
    ids = {(await http.get("/healthz")).headers["X-Request-Id"] for _ in range(5)}
    echoed = await http.get("/healthz", headers={"X-Request-Id": "trace-from-the-proxy-42"})

    assert len(ids) == 5
    assert echoed.headers["X-Request-Id"] == "trace-from-the-proxy-42"
