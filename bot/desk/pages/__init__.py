"""Console page modules: one module per area of work.

A page module is a plain Python module with:

- `routes`: an `aiohttp.web.RouteTableDef`. Every handler is marked
  `@public` or `@requires("some.permission")` (bot.desk.access); an unmarked
  handler is refused for everybody.
- `NAV` (optional): `NavItem`s for the top menu, shown to those with the
  item's permission. The home page `/` opens the first item, by `order`,
  that the signed-in person may see.
- `GRANTS` (optional): {role: {permission, …}} for permissions the module
  introduces, e.g. {"agent": {"escalations.handle"}}.
- `SCRIPTS` (optional): `PageScript`s every page loads for those with the
  script's permission (e.g. the agents' alerts).
- `prepare(app)` (optional): what the module keeps on the app (e.g. a watcher
  shared by its sockets), set up when the app is built.

Add it to `PAGE_MODULES` in bot/desk/app.py. Its templates go in
bot/desk/templates/ and extend `base.html`.

Every form a page posts has a JSON twin at the same path under /api/, made
with `form_action`, so tests and later front ends use the same rules. The
service functions underneath live in bot.bank and know nothing of HTTP.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Mapping, Optional, Tuple

from aiohttp import web

from bot.bank.refusals import Refusal
from bot.desk.access import requires
from bot.desk.common import inputs, json_ok, local_path, see_other, text

Run = Callable[[web.Request, Mapping[str, Any]], Awaitable[Any]]
Done = Callable[[Any], Tuple[str, str]]


def form_action(routes: web.RouteTableDef, path: str, permission: str, *, run: Run, done: Done,
                back: Callable[[web.Request], str],
                refused_back: Optional[Callable[[web.Request, Mapping[str, Any], Refusal], Optional[str]]] = None,
                ) -> None:
    """Register `POST path` for a form and `POST /api/path` for JSON.

    The form handler redirects back (to the form's `back` field, a local
    path, or `back(request)`) with a one-time message: `done(result)` gives
    (text, kind) on success, the service's message is shown on refusal. The
    JSON twin answers the result, or {"error", "message"} with a 4xx status.
    Being refused for another branch is a 403 in both. `refused_back` may
    send a refused form elsewhere (e.g. to a page that shows what confirming
    would do).
    """

    @requires(permission)
    async def page(request: web.Request) -> web.StreamResponse:
        data = await inputs(request)
        target = local_path(text(data, "back"), back(request))
        try:
            result = await run(request, data)
        except Refusal as error:
            if error.code == "other_branch":
                raise
            elsewhere = refused_back(request, data, error) if refused_back else None
            raise see_other(elsewhere or target, error.message, "error") from None
        message, kind = done(result)
        raise see_other(target, message, kind)

    @requires(permission)
    async def api(request: web.Request) -> web.StreamResponse:
        return json_ok(await run(request, await inputs(request)))

    routes.post(path)(page)
    routes.post("/api" + path)(api)
