"""`python -m bot.desk`: serve the staff console (default http://127.0.0.1:8080/).

On start it migrates the bank database, loads the demo bank into an empty
one, and, when there are no accounts at all, creates `admin` with the
password in `DESK_ADMIN_PASSWORD` or a generated one, printed once.

    python -m bot.desk                       serve (DESK_PORT, DESK_HOST)
    python -m bot.desk first-admin           migrate, seed, create the first admin if none
                                             (the cluster launcher, before starting consoles)
    python -m bot.desk set-password NAME     new password for NAME, printed once
                                             (DESK_ADMIN_PASSWORD to choose it)

DESK_HOST=0.0.0.0 makes it reachable from a tablet on the same network; set
HELPLINE_SECRET first, or anyone who knows the development secret can forge
a session.
"""
from __future__ import annotations

import logging
import sys
from typing import List, Optional

from aiohttp import web

from bot.bank.db import transaction
from bot.bank.refusals import Refusal
from bot.bank.seed import seed_if_empty
from bot.bank.staff.accounts import ensure_first_admin, reset_password_by_username
from bot.clock import now
from bot.desk import alerts
from bot.desk.app import create_app
from bot.knowledge import live
from bot.settings import settings


def _say(line: str = "") -> None:
    print(line, flush=True)


def _first_admin() -> None:
    with transaction() as session:
        created = ensure_first_admin(session, now(), password=settings().desk_admin_password or None)
    if created:
        username, password = created
        _say("员工控制台已创建第一个管理员账号（只显示这一次，请妥善保存）：")
        _say(f"  用户名: {username}")
        _say(f"  密码:   {password}")
        _say("  忘记密码时运行: .venv-desk/bin/python -m bot.desk set-password admin")
    else:
        _say("员工控制台已有账号；忘记密码可运行: .venv-desk/bin/python -m bot.desk set-password 用户名")


def _set_password(username: str) -> int:
    with transaction() as session:
        name, password = reset_password_by_username(session, username, settings().desk_admin_password or None)
    _say(f"{name} 的新密码（只显示这一次）: {password}")
    return 0


def _serve() -> int:
    seed_if_empty()
    _first_admin()
    config = settings()
    if config.uses_development_secret:
        _say("警告：HELPLINE_SECRET 未设置，正在使用开发用密钥，只可在本机演示时使用。")
    host, port = config.desk_host, int(config.desk_port)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    _say(f"Desk:    http://{shown}:{port}/  (staff console)")
    live.warm_up()   # the matcher behind agents' suggested answers
    app = create_app(config=config)
    app.cleanup_ctx.append(alerts.watch_overdue)   # urgent cases past target, to the supervisors
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if argv == ["first-admin"]:
            seed_if_empty()
            _first_admin()
            return 0
        if argv[:1] == ["set-password"] and len(argv) == 2:
            seed_if_empty()
            return _set_password(argv[1])
        if argv:
            _say(__doc__ or "")
            return 2
        return _serve()
    except Refusal as error:
        _say(f"无法启动：{error.message}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
