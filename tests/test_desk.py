"""The staff console (bot.desk) over HTTP with aiohttp's test client."""
from __future__ import annotations

import contextlib
import re
from datetime import date, datetime, time

import bcrypt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_urldispatcher import StaticResource
from sqlalchemy import select

from bot.bank.booking import lifecycle as bookings
from bot.bank.capacity import slots as tickets
from bot.bank.db import transaction
from bot.bank.hours.timetable import find_branch, hours_on
from bot.bank.customers.identity import customer_by_phone
from bot.bank.models import Booking, Staff
from bot.clock import SHANGHAI
from bot.bank.staff.accounts import create_staff, ensure_first_admin
from bot.desk.app import create_app

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)   # the `bank_db` clock
TODAY, TUESDAY, WEDNESDAY = NOW.date(), date(2026, 9, 29), date(2026, 9, 30)
PASSWORD = "counter2020"
ACCOUNTS = {
    "boss": ("admin", None, "赵总"),
    "futian": ("branch_staff", "futian", "王丽"),
    "nanshan": ("branch_staff", "nanshan", "陈刚"),
    "agent": ("agent", None, "李敏"),
}
# The login page, and the widget's demo page and script, which customers load.
PUBLIC_PATHS = {"/login", "/", "/widget.js"}
SAMPLE_PARAMS = {"reference": "YYABCDEF", "action": "check-in", "branch_id": "futian",
                 "exception_id": "1", "notice_id": "1", "staff_id": "1", "escalation_id": "1", "key": "credit_report",
                 "reply_id": "1", "attachment_id": "1"}


class Desk:
    """The app on one test server, and a signed-in client per account."""

    def __init__(self, app, server):
        self.app, self.server, self.clients = app, server, []

    async def client(self) -> TestClient:
        client = TestClient(self.server)
        await client.start_server()
        self.clients.append(client)
        return client

    async def login(self, username: str, password: str = PASSWORD) -> TestClient:
        client = await self.client()
        response = await login(client, username, password)
        assert response.status == 303, await response.text()
        return client


async def login(client: TestClient, username: str, password: str):
    page = await (await client.get("/login")).text()
    token = re.search(r'name="login_token" value="([^"]+)"', page).group(1)
    return await client.post("/login", data={"username": username, "password": password, "login_token": token,
                                             "next": "/bookings"}, allow_redirects=False)


async def csrf_of(client: TestClient) -> str:
    return (await (await client.get("/api/me")).json())["csrf_token"]


async def post_form(client: TestClient, path: str, data: dict, csrf: bool = True):
    if csrf:
        data = {**data, "csrf_token": await csrf_of(client)}
    return await client.post(path, data=data, allow_redirects=False)


async def post_json(client: TestClient, path: str, body: dict):
    return await client.post(path, json=body, headers={"X-CSRF-Token": await csrf_of(client)})


@pytest.fixture
async def desk(bank_db, monkeypatch):
    async with running_desk(monkeypatch) as console:
        yield console


@contextlib.asynccontextmanager
async def running_desk(monkeypatch):
    """The console on a scratch database with the accounts above, built with the current settings."""
    monkeypatch.setenv("DESK_BCRYPT_ROUNDS", "4")   # the real cost (12) is slow on purpose
    with transaction() as session:
        for username, (role, branch_id, name) in ACCOUNTS.items():
            create_staff(session, username=username, display_name=name, role=role, password=PASSWORD,
                         when=NOW, branch_id=branch_id)
    async with serving(create_app()) as console:
        yield console


@contextlib.asynccontextmanager
async def serving(app):
    """`app` on a test server; its clients and the server closed afterwards."""
    server = TestServer(app)
    await server.start_server()
    console = Desk(app, server)
    yield console
    for client in console.clients:
        await client.close()
    await server.close()


def book(phone: str, day: date = TODAY, at: time = time(10), branch: str = "福田支行") -> str:
    with transaction() as session:
        customer = customer_by_phone(session, phone)
        slot = next(s for s in tickets.free_slots(session, find_branch(session, branch), "面签", day, NOW)
                    if s.starts_at == at)
        return bookings.book(session, customer.id, slot.id, "rest", NOW).reference


def booking_row(reference: str) -> Booking:
    with transaction() as session:
        return session.execute(select(Booking).where(Booking.reference == reference)).scalar_one()


# --- signing in -----------------------------------------------------------------------------

async def test_login_sets_a_protected_session_cookie_and_opens_the_bookings(desk):
    client = await desk.client()
    response = await login(client, "Futian", PASSWORD)       # usernames are case-insensitive
    assert response.status == 303 and response.headers["Location"] == "/bookings"
    cookie = next(h for h in response.headers.getall("Set-Cookie") if h.startswith("desk_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    page = await client.get("/bookings")
    text = await page.text()
    assert page.status == 200 and "王丽" in text and "福田支行" in text and "退出登录" in text


@pytest.mark.parametrize("username, password", [("futian", "wrong-password1"), ("nobody", PASSWORD),
                                                ("futian", "")])
async def test_a_wrong_login_is_refused_without_a_session(desk, username, password):
    client = await desk.client()
    response = await login(client, username, password)
    assert response.status == 401
    assert "用户名或密码不对" in await response.text()
    assert not any(h.startswith("desk_session=") for h in response.headers.getall("Set-Cookie", []))
    assert (await client.get("/bookings", allow_redirects=False)).status == 302


async def test_the_login_form_needs_its_own_token(desk):
    client = await desk.client()
    response = await client.post("/login", data={"username": "futian", "password": PASSWORD},
                                 allow_redirects=False)
    assert response.status == 403 and "过期" in await response.text()


async def test_repeated_wrong_passwords_lock_the_username(desk):
    client = await desk.client()
    for _ in range(5):
        assert (await login(client, "futian", "wrong-password1")).status == 401
    locked = await login(client, "futian", PASSWORD)
    assert locked.status == 429 and "15 分钟" in await locked.text()


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
async def test_login_never_redirects_off_the_site(desk, target):
    client = await desk.client()
    page = await (await client.get("/login")).text()
    token = re.search(r'name="login_token" value="([^"]+)"', page).group(1)
    response = await client.post("/login", data={"username": "futian", "password": PASSWORD, "login_token": token,
                                                 "next": target}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/desk"


def test_the_first_admin_is_created_once_with_a_usable_password(bank_db, monkeypatch):
    monkeypatch.setenv("DESK_BCRYPT_ROUNDS", "4")
    with transaction() as session:
        username, password = ensure_first_admin(session, NOW)
    with transaction() as session:
        assert ensure_first_admin(session, NOW) is None
        admin = session.execute(select(Staff).where(Staff.username == username)).scalar_one()
    assert admin.role == "admin" and bcrypt.checkpw(password.encode(), admin.password_hash.encode())


async def test_passwords_are_stored_only_as_bcrypt_hashes(desk):
    with transaction() as session:
        hashes = session.execute(select(Staff.password_hash)).scalars().all()
    assert len(hashes) == len(ACCOUNTS)
    for stored in hashes:
        assert PASSWORD not in stored and stored.startswith("$2b$")
        assert bcrypt.checkpw(PASSWORD.encode(), stored.encode())
    assert len(set(hashes)) == len(hashes)               # salted: same password, different hashes


async def test_logout_ends_the_session(desk):
    client = await desk.login("futian")
    response = await post_form(client, "/logout", {})
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert (await client.get("/bookings", allow_redirects=False)).status == 302
    assert (await client.get("/api/bookings")).status == 401


async def test_a_forged_cookie_is_not_a_session(desk):
    client = await desk.login("futian")
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))["desk_session"].value
    body, tag = token.split(".")
    jar = client.session.cookie_jar
    jar.clear()  # the forged cookie replaces the real one (newer aiohttp would otherwise send both)
    jar.update_cookies({"desk_session": body + "." + "0" * len(tag)}, client.make_url("/"))
    assert (await client.get("/api/me")).status == 401


async def test_disabling_an_account_ends_its_sessions(desk):
    clerk = await desk.login("nanshan")
    boss = await desk.login("boss")
    with transaction() as session:
        nanshan_id = session.execute(select(Staff.id).where(Staff.username == "nanshan")).scalar_one()
    response = await post_form(boss, f"/staff/{nanshan_id}/active", {"active": "0"})
    assert response.status == 303
    assert (await clerk.get("/api/me")).status == 401
    assert (await login(await desk.client(), "nanshan", PASSWORD)).status == 401


# --- who may see what ------------------------------------------------------------------------

def route_paths(app):
    """Every (method, concrete path) the app serves, static files excepted."""
    for route in app.router.routes():
        if isinstance(route.resource, StaticResource):
            continue
        template = route.resource.canonical
        path = re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: SAMPLE_PARAMS[m.group(1)], template)
        yield route.method, path, route.handler


async def test_every_route_refuses_an_anonymous_visitor(desk):
    client = await desk.client()
    checked = 0
    for method, path, handler in route_paths(desk.app):
        if getattr(handler, "desk_public", False):
            assert path in PUBLIC_PATHS, path
            continue
        response = await client.request(method, path, allow_redirects=False)
        if path.startswith("/api/"):
            assert response.status == 401, (method, path)
            if method != "HEAD":
                assert (await response.json())["error"] == "unauthenticated"
        else:
            assert response.status == 302, (method, path)
            assert response.headers["Location"].startswith("/login"), (method, path)
        checked += 1
    assert checked > 30


async def test_every_route_declares_who_may_use_it(desk):
    for method, path, handler in route_paths(desk.app):
        assert getattr(handler, "desk_public", False) or getattr(handler, "desk_permission", None), (method, path)


async def test_static_css_needs_no_login(desk):
    client = await desk.client()
    response = await client.get("/static/desk.css")
    assert response.status == 200 and "--tap" in await response.text()


async def test_anonymous_visitor_is_sent_back_to_the_page_after_login(desk):
    client = await desk.client()
    response = await client.get("/branches/futian?x=1", allow_redirects=False)
    assert response.headers["Location"].startswith("/login?next=")
    page = await (await client.get(response.headers["Location"])).text()
    assert 'name="next" value="/branches/futian?x=1"' in page


@pytest.mark.parametrize("path", [
    "/bookings?branch=nanshan", "/api/bookings?branch=nanshan", "/branches/nanshan", "/api/branches/nanshan",
    "/branches/nanshan/capacity", "/api/branches/nanshan/capacity", "/staff", "/api/staff",
])
async def test_branch_staff_cannot_see_another_branch_or_admin_pages(desk, path):
    client = await desk.login("futian")
    response = await client.get(path, allow_redirects=False)
    assert response.status == 403


async def test_branch_staff_cannot_change_another_branch(desk):
    reference = book("13800138000", branch="南山支行")
    client = await desk.login("futian")
    assert (await post_form(client, f"/bookings/{reference}/check-in", {})).status == 403
    assert (await post_json(client, f"/api/bookings/{reference}/check-in", {})).status == 403
    response = await post_form(client, "/branches/nanshan/exceptions",
                               {"day": WEDNESDAY.isoformat(), "kind": "closed", "reason": "轮休"})
    assert response.status == 403
    assert booking_row(reference).checked_in_at is None


async def test_branch_staff_see_only_their_branch_and_no_branch_picker(desk):
    book("13800138000")
    book("13900139000", branch="南山支行")
    client = await desk.login("futian")
    data = await (await client.get("/api/bookings")).json()
    assert {row["branch_id"] for row in data["bookings"]} == {"futian"} and data["branch"] == "futian"
    page = await (await client.get("/bookings")).text()
    assert "全部网点" not in page and "员工账号" not in page


async def test_agents_read_every_branch_but_change_nothing(desk):
    reference = book("13800138000")
    book("13900139000", branch="南山支行")
    client = await desk.login("agent")
    data = await (await client.get("/api/bookings")).json()
    assert {row["branch_id"] for row in data["bookings"]} == {"futian", "nanshan"}
    page = await (await client.get("/bookings")).text()
    assert reference in page and "只读" in page and "签到</button>" not in page
    assert (await post_form(client, f"/bookings/{reference}/check-in", {})).status == 403
    assert (await client.get("/branches/nanshan")).status == 200
    assert (await client.get("/staff")).status == 403


async def test_an_unknown_branch_is_not_found(desk):
    client = await desk.login("boss")
    assert (await client.get("/branches/atlantis")).status == 404
    assert (await client.get("/api/bookings?branch=atlantis")).status == 404


async def test_home_opens_the_first_page_one_may_use(desk):
    client = await desk.login("agent")
    response = await client.get("/desk", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/escalations"


# --- CSRF -----------------------------------------------------------------------------------------

async def test_a_form_without_the_csrf_token_is_refused(desk):
    reference = book("13800138000")
    client = await desk.login("futian")
    missing = await post_form(client, f"/bookings/{reference}/check-in", {}, csrf=False)
    assert missing.status == 403 and "安全校验" in await missing.text()
    wrong = await client.post(f"/bookings/{reference}/check-in", data={"csrf_token": "x" * 32},
                              allow_redirects=False)
    assert wrong.status == 403
    api = await client.post(f"/api/bookings/{reference}/check-in", json={})
    assert api.status == 403 and (await api.json())["error"] == "forbidden"
    assert (await client.post("/logout", allow_redirects=False)).status == 403
    assert booking_row(reference).checked_in_at is None


# --- the counter --------------------------------------------------------------------------------

async def test_check_in_from_the_page_changes_the_database(desk):
    reference = book("13800138000")
    client = await desk.login("futian")
    page = await (await client.get("/bookings")).text()
    assert f'/bookings/{reference}/check-in' in page and "138****8000" in page
    response = await post_form(client, f"/bookings/{reference}/check-in", {"back": "/bookings?day=2026-09-28"})
    assert response.status == 303 and response.headers["Location"] == "/bookings?day=2026-09-28"
    row = booking_row(reference)
    assert row.status == "checked_in" and row.checked_in_at is not None
    after = await (await client.get(response.headers["Location"])).text()
    assert "已签到" in after and f"（{reference}）" in after   # the one-time message


async def test_check_in_and_no_show_through_the_json_twin(desk, monkeypatch):
    first, second = book("13800138000", at=time(10)), book("13900139000", at=time(10, 30))
    client = await desk.login("boss")
    checked = await post_json(client, f"/api/bookings/{first}/check-in", {})
    assert checked.status == 200 and (await checked.json())["status"] == "checked_in"
    early = await post_json(client, f"/api/bookings/{second}/no-show", {})
    assert early.status == 409 and "还没到" in (await early.json())["message"]
    monkeypatch.setenv("HELPLINE_NOW", "2026-09-28T11:00:00+08:00")
    marked = await post_json(client, f"/api/bookings/{second}/no-show", {})
    assert marked.status == 200 and booking_row(second).status == "no_show"
    missing = await post_json(client, "/api/bookings/YYNOSUCH/check-in", {})
    assert missing.status == 404


async def test_a_refused_check_in_comes_back_with_the_reason(desk):
    reference = book("13800138000", day=TUESDAY)
    client = await desk.login("futian")
    response = await post_form(client, f"/bookings/{reference}/check-in", {})
    assert response.status == 303
    page = await (await client.get(response.headers["Location"])).text()
    assert "只能当天签到" in page and booking_row(reference).checked_in_at is None


async def test_bookings_json_for_a_day_and_branch(desk):
    reference = book("13800138000", day=TUESDAY)
    client = await desk.login("boss")
    data = await (await client.get("/api/bookings?day=2026-09-29&branch=futian")).json()
    assert data["day"] == "2026-09-29" and data["branch"] == "futian"
    [row] = data["bookings"]
    assert row["reference"] == reference and row["starts_at"] == "10:00" and row["status_label"] == "待到店"
    bad = await client.get("/api/bookings?day=29/9")
    assert bad.status == 400 and "格式" in (await bad.json())["message"]


# --- branch settings -------------------------------------------------------------------------------

async def test_an_exception_added_in_the_console_changes_hours_on(desk):
    client = await desk.login("futian")
    response = await post_form(client, "/branches/futian/exceptions", {
        "day": WEDNESDAY.isoformat(), "kind": "hours", "opens": "10:00", "closes": "15:00",
        "reason": "疫情防控，缩短营业时间"})
    assert response.status == 303
    with transaction() as session:
        day = hours_on(session, find_branch(session, "福田支行"), WEDNESDAY)
    assert (day.opens, day.closes, day.reason) == (time(10), time(15), "疫情防控，缩短营业时间")
    page = await (await client.get("/branches/futian")).text()
    assert "已设置9月30日（周三）：营业时间改为 10:00–15:00" in page


async def test_closing_a_day_with_bookings_names_the_customers_to_call(desk):
    reference = book("13800138000", day=WEDNESDAY)
    client = await desk.login("futian")
    response = await post_json(client, "/api/branches/futian/exceptions",
                               {"day": WEDNESDAY.isoformat(), "closed": True, "reason": "网点轮休"})
    body = await response.json()
    assert response.status == 200 and [b["reference"] for b in body["affected"]] == [reference]
    with transaction() as session:
        assert not hours_on(session, find_branch(session, "福田支行"), WEDNESDAY).is_open
    exception_id = body["exception"]["id"]
    removed = await post_json(client, f"/api/branches/futian/exceptions/{exception_id}/delete", {})
    assert removed.status == 200
    with transaction() as session:
        assert hours_on(session, find_branch(session, "福田支行"), WEDNESDAY).is_open


async def test_notices_from_the_console(desk):
    client = await desk.login("futian")
    response = await post_form(client, "/branches/futian/notices", {"body": "本网点本周暂停外币兑换业务。"})
    assert response.status == 303
    data = await (await client.get("/api/branches/futian")).json()
    notice = next(n for n in data["notices"] if n["body"] == "本网点本周暂停外币兑换业务。")
    bank_wide = await post_form(client, "/branches/futian/notices", {"body": "全行通知", "bank_wide": "1"})
    assert bank_wide.status == 403                    # only admins speak for the whole bank
    ended = await post_json(client, f"/api/branches/futian/notices/{notice['id']}/end", {})
    assert ended.status == 200


async def test_a_capacity_rule_from_the_console(desk):
    client = await desk.login("futian")
    response = await post_form(client, "/branches/futian/capacity/rules", {"service": "开户", "capacity": "2"})
    assert response.status == 303
    data = await (await client.get("/api/branches/futian/capacity?day=2026-09-29&service=开户")).json()
    assert {slot["capacity"] for slot in data["slots"]} == {2}
    assert {r["service"]: r["source"] for r in data["effective"]}["开户"] == "service"
    page = await (await client.get("/branches/futian/capacity?day=2026-09-29&service=开户")).text()
    assert "本业务单独设置" in page


# --- accounts --------------------------------------------------------------------------------------

async def test_an_admin_adds_an_account_that_can_sign_in(desk):
    boss = await desk.login("boss")
    response = await post_form(boss, "/staff", {"username": "luohu.zhang", "display_name": "张伟",
                                                "role": "branch_staff", "branch_id": "luohu",
                                                "password": "luohu2020ok"})
    assert response.status == 303
    listed = await (await boss.get("/api/staff")).json()
    assert any(p["username"] == "luohu.zhang" and p["branch_name"] == "罗湖支行" for p in listed["staff"])
    newcomer = await desk.login("luohu.zhang", "luohu2020ok")
    me = await (await newcomer.get("/api/me")).json()
    assert me["role"] == "branch_staff" and me["branch_id"] == "luohu"
    weak = await post_json(boss, "/api/staff", {"username": "x1", "display_name": "某人", "role": "agent",
                                                "password": "short"})
    assert weak.status == 400
