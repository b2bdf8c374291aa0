"""While PostgreSQL is unreachable the webhook answers 503 so Alertmanager retries."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import make_url

from storage.database import Database
from tests.conftest import REPO
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, bot_settings, running_bot
from tests.support.databases import POSTGRES_ADMIN_URL, truncate_all
from tests.support.integration import unavailable
from tests.support.payloads import body, group
from tests.support.tcp_proxy import TcpProxy

JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


async def test_webhook_answers_503_while_the_database_is_down_and_stores_once_it_is_back(
        postgres_url: str | None) -> None:
    if postgres_url is None:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
    target = make_url(postgres_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    via_proxy = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    db = Database(postgres_url)
    await truncate_all(postgres_url)
    try:
        async with running_bot(bot_settings(via_proxy, REPO / "playbooks")) as url, httpx.AsyncClient(timeout=30) as http:
            first = await http.post(f"{url}/alertmanager", content=body(group("Before")), headers=JSON)
            await proxy.stop()
            during = await http.post(f"{url}/alertmanager", content=body(group("During")), headers=JSON)
            ready_during = await http.get(f"{url}/readyz")
            await proxy.start()
            retried = await http.post(f"{url}/alertmanager", content=body(group("During")), headers=JSON)
            ready_after = await http.get(f"{url}/readyz")

        assert first.status_code == 200
        assert during.status_code == 503
        assert during.json() == {"error": "database unavailable, retry later"}
        assert during.headers["Retry-After"] == "5"
        assert ready_during.status_code == 503 and ready_during.json()["checks"]["database"].startswith("unreachable")
        assert retried.status_code == 200 and retried.json()["outcome"] == "open"
        assert ready_after.status_code == 200
        assert [i.title for i in await rows.incidents(db)] == ["Before in checkout", "During in checkout"]
    finally:
        await proxy.stop()
        await db.dispose()
