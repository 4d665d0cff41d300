"""The escalation pages in a real browser: Debian's Chromium driven by Playwright.

The console and a fake Rasa are served on free ports by an event loop in a
background thread (the browser needs real sockets and Playwright's sync API
needs this thread), against a seeded scratch database. Playwright never
downloads a browser here: it drives /usr/bin/chromium.
"""
from __future__ import annotations

import asyncio
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List

import pytest
from aiohttp import web
from playwright.sync_api import Page, expect, sync_playwright

from bot.bank.handoff import escalations as handoff
from bot.bank.db import transaction
from bot.bank.staff.accounts import create_staff
from bot.desk.app import create_app
from tests.bankdb import serve
from tests.test_desk import NOW, PASSWORD
from tests.test_desk_escalations import PHONE, STOLEN, FakeRasa, outbox

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[1] / "build" / "screenshots" / "desk-escalation.png"
CONVERSATION = "web-visitor-1"


class Served:
    """aiohttp apps on 127.0.0.1, free ports, one event loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="served", daemon=True)
        self.thread.start()
        self.runners: List[web.AppRunner] = []

    def serve(self, app: web.Application) -> str:
        return asyncio.run_coroutine_threadsafe(self._serve(app), self.loop).result(timeout=10)

    async def _serve(self, app: web.Application) -> str:
        # When the test is over, a request still running (the case page's suggested
        # answers, while the matcher is being built) is cancelled, not waited for:
        # aiohttp 3.10 and later wait up to a minute for it by default.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        for runner in reversed(self.runners):
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def fake_rasa() -> FakeRasa:
    """The conversation's tracker as the console reads it; a test may add messages."""
    rasa = FakeRasa()
    rasa.say(CONVERSATION, "user", f"我的卡被盗刷了，手机{PHONE}", 1790000000.0)
    rasa.say(CONVERSATION, "user", "还在吗？能快点吗", 1790000010.0)
    return rasa


@pytest.fixture
def console(bank_db, monkeypatch, fake_rasa):
    """The console's address, with agent 李敏 and one waiting escalation (a stolen card)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium). "
                    "This test never downloads a browser.")
    monkeypatch.setenv("DESK_BCRYPT_ROUNDS", "4")
    with transaction() as session:
        create_staff(session, username="agent", display_name="李敏", role="agent", password=PASSWORD, when=NOW)
    serve(handoff.open_escalation, CONVERSATION, "widget", "lost_card", STOLEN)
    served = Served()
    try:
        monkeypatch.setenv("RASA_URL", served.serve(fake_rasa.app()))
        yield served.serve(create_app())
    finally:
        served.stop()


@contextmanager
def chromium_page() -> Iterator[Page]:
    """A page of Debian's Chromium, sized like an agent's laptop."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        finally:
            browser.close()


def sign_in(page: Page, console: str, username: str = "agent") -> None:
    page.goto(console + "/desk")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()


def claim_stolen_card_case(page: Page) -> None:
    """From the menu to the live chat of the waiting stolen-card case."""
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="人工接待").click()
    row = page.locator("table.escalations tbody tr").filter(has_text="银行卡丢失/被盗刷")
    expect(row).to_contain_text("紧急")
    expect(row).to_contain_text("*******8000")
    row.get_by_role("button", name="接入").click()
    expect(page.locator("[data-chat-state]")).to_have_text(re.compile("已连接"))


def screenshot(page: Page, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


def test_an_agent_claims_a_case_and_answers_in_the_live_chat(console):
    reply = "您好，我是李客服，已为您冻结这张卡。"
    with chromium_page() as page:
        sign_in(page, console)
        claim_stolen_card_case(page)
        expect(page.locator("[data-case-status]")).to_have_text("接待中 · 李敏")
        expect(page.locator("[data-chat-log]")).to_contain_text("还在吗？能快点吗")
        box = page.get_by_label("回复客户")
        box.fill(reply)
        box.press("Enter")
        expect(page.locator("[data-chat-log] li.sent")).to_contain_text(reply)
        expect(box).to_have_value("")
        screenshot(page, SCREENSHOT)
        assert PHONE not in page.content()
    [row] = outbox(CONVERSATION, "agent_message")
    assert row.payload["messages"][0] == {"text": reply, "metadata": {"agent": "李客服"}}
