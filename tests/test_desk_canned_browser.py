"""Canned replies in a real browser (Debian's Chromium): an agent types `/` and a
shortcut in the reply box, picks the reply, edits it and sends it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.bank.handoff import canned
from tests.bankdb import serve
from tests import test_desk_browser as browser_tests
from tests.test_desk_browser import CONVERSATION, chromium_page, claim_stolen_card_case, screenshot, sign_in
from tests.test_desk_escalations import outbox

console, fake_rasa = browser_tests.console, browser_tests.fake_rasa   # fixtures

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "desk-canned-reply.png"


def test_an_agent_inserts_a_canned_reply_with_a_shortcut_edits_it_and_sends_it(console):
    serve(canned.save, shortcut="freeze", title="冻结银行卡", team="", author="赵总",
          body="{客户姓名}您好，已为您冻结这张卡。如需补卡，可拨打热线 {热线}。")
    serve(canned.save, shortcut="fraud", title="防诈骗提醒", team="", author="赵总",
          body="请不要向任何人透露验证码。")
    with chromium_page() as page:
        sign_in(page, console)
        claim_stolen_card_case(page)
        box = page.get_by_label("回复客户")
        box.click()
        box.press_sequentially("/fr")
        options = page.get_by_role("listbox", name="快捷回复").get_by_role("option")
        expect(options).to_have_text([re.compile("^/fraud 防诈骗提醒"), re.compile("^/freeze 冻结银行卡")])
        box.press("ArrowDown")
        screenshot(page, SCREENSHOT.with_name("desk-canned-list.png"))
        box.press("Enter")      # picks /freeze, does not send
        expect(box).to_have_value("客户您好，已为您冻结这张卡。如需补卡，可拨打热线 400-830-9595。")
        box.press("End")
        box.press_sequentially("祝您顺利！")
        box.press("Enter")      # the list is closed: Enter sends
        sent = "客户您好，已为您冻结这张卡。如需补卡，可拨打热线 400-830-9595。祝您顺利！"
        expect(page.locator("[data-chat-log] li.sent")).to_contain_text(sent)
        screenshot(page, SCREENSHOT)
    [row] = outbox(CONVERSATION, "agent_message")
    assert row.payload["messages"][0]["text"] == sent
