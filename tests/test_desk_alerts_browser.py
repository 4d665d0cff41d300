"""An agent on another console page told of a new urgent case at once, in Debian's Chromium:
the alert in the corner, a tone, and a desktop notice once the agent has allowed them."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.bank.handoff import escalations as handoff
from tests import test_desk_browser as browser_tests
from tests.bankdb import serve
from tests.test_desk_browser import chromium_page, screenshot, sign_in
from tests.test_desk_escalations import STOLEN

console, fake_rasa = browser_tests.console, browser_tests.fake_rasa   # fixtures

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "desk-alert.png"

# What the browser would show is recorded instead: headless Chromium has no desktop to
# show a notice on, and permission starts undecided as on an agent's first day.
RECORDERS = """
window.__notices = [];
window.__tones = 0;
let permission = "default";
window.Notification = class {
  static get permission() { return permission; }
  static requestPermission() { permission = "granted"; return Promise.resolve(permission); }
  constructor(title, options) { window.__notices.push({ title, body: options.body }); }
  addEventListener() {}
};
const RealAudio = window.AudioContext;
window.AudioContext = class extends RealAudio {
  createOscillator() { window.__tones += 1; return super.createOscillator(); }
};
"""


def test_an_agent_on_another_page_hears_of_a_new_urgent_case_at_once(console):
    with chromium_page() as page:
        page.add_init_script(RECORDERS)
        sign_in(page, console)
        page.get_by_role("navigation", name="主菜单").get_by_role("link", name="预约签到").click()
        page.get_by_role("button", name="开启桌面提醒").click()
        expect(page.get_by_role("button", name="开启桌面提醒")).to_have_count(0)
        expect(page.locator(".alerts[data-state=online]")).to_have_count(1)   # the server is watching

        ticket = serve(handoff.open_escalation, "web-visitor-2", "widget", "fraud", STOLEN)
        alert = page.locator(".alerts .alert")
        expect(alert).to_contain_text("【紧急】新客户待接入")
        expect(alert).to_contain_text(f"疑似诈骗 · 编号 {ticket.reference}")
        assert page.evaluate("window.__notices") == [
            {"title": "【紧急】新客户待接入", "body": f"疑似诈骗 · 编号 {ticket.reference}，请尽快接入。"}]
        assert page.evaluate("window.__tones") == 1
        screenshot(page, SCREENSHOT)
        alert.get_by_role("link", name="查看").click()
        expect(page.locator("[data-case-status]")).to_have_text("等待中")
