"""A supervisor taking over a chat in a real browser (Debian's Chromium): agent 李敏 has
the stolen-card case; the supervisor finds it on the duty board, takes it over and answers."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.bank.db import transaction
from bot.bank.handoff import escalations as handoff
from bot.bank.staff.accounts import create_staff
from tests import test_desk_browser as browser_tests
from tests.bankdb import serve
from tests.test_desk import NOW, PASSWORD
from tests.test_desk_browser import CONVERSATION, chromium_page, screenshot, sign_in
from tests.test_desk_escalations import PHONE, case, outbox, staff_id

console, fake_rasa = browser_tests.console, browser_tests.fake_rasa   # fixtures

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "desk-supervision.png"


def test_a_supervisor_takes_over_an_agents_chat_from_the_duty_board(console):
    with transaction() as session:
        create_staff(session, username="boss", display_name="赵总", role="admin", password=PASSWORD, when=NOW)
    [waiting] = serve(handoff.queue)
    serve(handoff.claim, waiting.id, staff_id("agent"))
    with chromium_page() as page:
        sign_in(page, console, "boss")
        page.get_by_role("navigation", name="主菜单").get_by_role("link", name="值班看板").click()
        agent_row = page.locator("table[data-table=agents] tbody tr").filter(has_text="李敏")
        expect(agent_row).to_contain_text(waiting.reference)
        expect(agent_row).to_contain_text("已接待")
        screenshot(page, SCREENSHOT)
        assert PHONE not in page.content()
        agent_row.get_by_role("button", name="接管").click()
        expect(page.locator("p.flash-ok")).to_contain_text("已接管")
        expect(page.locator("[data-case-status]")).to_have_text("接待中 · 赵总")
        expect(page.get_by_text("从李敏手中接管了这次接待")).to_be_visible()
        box = page.get_by_label("回复客户")
        box.fill("您好，我是值班主管，我来继续帮您处理。")
        box.press("Enter")
        expect(page.locator("[data-chat-log] li.sent")).to_contain_text("我来继续帮您处理")
    assert case(waiting.id).assignee_id == staff_id("boss")
    [reply] = outbox(CONVERSATION, "agent_message")
    assert reply.payload["messages"][0]["metadata"] == {"agent": "赵客服"}
