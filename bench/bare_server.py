"""The baseline for bench/webhook_ingest.py: a bare aiohttp app, nothing else.

``POST /alertmanager`` reads the whole body and answers 200 JSON; ``GET /healthz`` answers
200. No middleware, no logging, no access log, so the difference to the bot is the bot.

    python bench/bare_server.py --host 127.0.0.1 --port 8099
"""

from __future__ import annotations

import argparse

from aiohttp import web


async def alertmanager(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response({"outcome": "bare", "bytes": len(body)})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application(client_max_size=10 * 1024 * 1024)  # the bot's default WEBHOOK_MAX_BYTES
    app.router.add_post("/alertmanager", alertmanager)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None, shutdown_timeout=2)


if __name__ == "__main__":
    main()
