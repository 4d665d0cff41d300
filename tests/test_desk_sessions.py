"""Logging out and lock-outs hold on every console process (bot/desk/login_state.py).

Two console apps on one bank database stand for two console processes
behind the proxy: without `REDIS_URL` each remembers only its own, with it
they share Redis (localhost:6379, started by `make test`).
"""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from bot.desk.app import create_app
from bot.desk.login_state import LOGIN_STATE, LocalLoginState, RedisLoginState
from bot.desk.pages.auth import LOCK_SECONDS, MAX_FAILURES
from tests.redis_service import REDIS_URL, redis_available
from tests.test_desk import ACCOUNTS, PASSWORD, Desk, login, post_form, running_desk, serving

needs_redis = pytest.mark.skipif(not redis_available(), reason="needs Redis on localhost:6379 (make test starts it)")


async def forget_test_accounts(app) -> None:
    """Counts a crashed run may have left in the shared Redis for these usernames."""
    for username in ACCOUNTS:
        await app[LOGIN_STATE].succeeded(username)


@pytest.fixture
async def two_consoles(bank_db, monkeypatch, request):
    """Two console processes: "memory" each on its own, "redis" sharing Redis."""
    if request.param == "redis":
        monkeypatch.setenv("REDIS_URL", REDIS_URL)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    async with running_desk(monkeypatch) as first, serving(create_app()) as second:   # the same database
        await forget_test_accounts(first.app)
        yield first, second
        await forget_test_accounts(first.app)


def session_cookie(client: TestClient) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))["desk_session"].value


async def replaying(desk: Desk, cookie: str) -> TestClient:
    """A client that sends a copied session cookie, as a thief would."""
    client = await desk.client()
    client.session.cookie_jar.update_cookies({"desk_session": cookie}, client.make_url("/"))
    return client


@pytest.mark.parametrize("two_consoles", ["memory", pytest.param("redis", marks=needs_redis)], indirect=True)
async def test_a_logged_out_session_cookie_replayed_is_refused(two_consoles):
    """By the process that logged it out; with Redis, by the other one too."""
    first, second = two_consoles
    consoles = (first, second) if isinstance(first.app[LOGIN_STATE], RedisLoginState) else (first,)
    clerk = await first.login("futian")
    cookie = session_cookie(clerk)
    for console in consoles:
        assert (await (await replaying(console, cookie)).get("/api/me")).status == 200
    assert (await post_form(clerk, "/logout", {})).status == 303
    for console in consoles:
        thief = await replaying(console, cookie)
        assert (await thief.get("/api/me")).status == 401
        assert (await thief.get("/bookings", allow_redirects=False)).status == 302
    assert (await (await first.login("futian")).get("/api/me")).status == 200   # a new login is a new session


@needs_redis
@pytest.mark.parametrize("two_consoles", ["redis"], indirect=True)
async def test_a_lock_out_on_one_process_holds_on_the_other(two_consoles):
    first, second = two_consoles
    assert isinstance(first.app[LOGIN_STATE], RedisLoginState)
    guesser = await first.client()
    for _ in range(MAX_FAILURES):
        assert (await login(guesser, "futian", "wrong-password1")).status == 401
    locked = await login(await second.client(), "futian", PASSWORD)
    assert locked.status == 429 and "15 分钟" in await locked.text()
    assert 0 < await first.app[LOGIN_STATE].redis.ttl("helpline:desk:failures:futian") <= LOCK_SECONDS
    assert (await login(await second.client(), "nanshan", PASSWORD)).status == 303   # only that username


@pytest.mark.parametrize("two_consoles", ["memory"], indirect=True)
async def test_without_redis_each_process_counts_only_its_own(two_consoles):
    first, second = two_consoles
    guesser = await first.client()
    for _ in range(MAX_FAILURES):
        assert (await login(guesser, "futian", "wrong-password1")).status == 401
    assert (await login(await first.client(), "futian", PASSWORD)).status == 429
    assert (await login(await second.client(), "futian", PASSWORD)).status == 303


async def test_an_unreachable_redis_lets_nobody_in(bank_db, monkeypatch):
    """Refusing beats admitting a cookie that may have been logged out elsewhere."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    async with running_desk(monkeypatch) as desk:
        response = await login(await desk.client(), "futian", PASSWORD)
        assert response.status == 503 and "登录服务暂时不可用" in await response.text()


async def test_failures_and_ended_sessions_are_forgotten_when_they_expire():
    clock = [1000.0]
    state = LocalLoginState(clock=lambda: clock[0])
    await state.failed("futian", seconds=60)
    await state.failed("futian", seconds=60)
    await state.end_session("s1", seconds=30)
    assert await state.failures("futian") == 2 and await state.session_ended("s1")
    clock[0] += 45
    assert await state.failures("futian") == 2 and not await state.session_ended("s1")
    clock[0] += 60
    assert await state.failures("futian") == 0
    await state.failed("nanshan", seconds=60)
    assert state._failures == {"nanshan": (1, clock[0] + 60)} and state._ended == {}
