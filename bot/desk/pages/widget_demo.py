"""The chat widget on a bank's home page: `/` shows the fictional bank's
site with the widget's script tag, `/widget.js` serves the built bundle.

Both are public: they are what a customer's browser loads. The page points
the widget at the Rasa server in `WIDGET_SERVER_URL` (default
http://localhost:5005, where `make run` starts it).
"""
from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
from aiohttp import web

from bot.bank.profile import load_profile
from bot.desk.access import public
from bot.desk.common import SETTINGS

routes = web.RouteTableDef()

WIDGET_JS = Path(__file__).resolve().parents[1] / "static" / "widget.js"
# Short, so a rebuilt widget reaches customers soon; revalidated by ETag after.
CACHE_CONTROL = "public, max-age=300"


@routes.get("/")
@public
async def demo_page(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("widget_demo.html", request, {
        "bank": load_profile(),
        "widget_server": request.app[SETTINGS].widget_server_url,
    })


@routes.get("/widget.js")
@public
async def widget_js(request: web.Request) -> web.StreamResponse:
    if not WIDGET_JS.is_file():
        return web.Response(status=404, content_type="text/plain", charset="utf-8",
                            text="widget.js 还没有构建。请在项目根目录运行 make widget，然后刷新页面。\n")
    return web.FileResponse(WIDGET_JS, headers={"Cache-Control": CACHE_CONTROL,
                                                "Content-Type": "text/javascript; charset=utf-8"})
