"""Finding a case in a real browser (Debian's Chromium): an agent searches by the
last four digits of the customer's phone and opens the case."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import test_desk_browser as browser_tests
from tests.test_desk_browser import chromium_page, screenshot, sign_in
from tests.test_desk_escalations import PHONE

console, fake_rasa = browser_tests.console, browser_tests.fake_rasa   # fixtures

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "desk-search.png"


def test_an_agent_finds_a_case_by_the_phones_last_four_digits(console):
    with chromium_page() as page:
        sign_in(page, console)
        page.get_by_role("link", name="查找接待记录").click()
        page.get_by_label("手机号后 4 位").fill("8000")
        page.get_by_label("对话或备注里的内容").fill("盗刷")
        page.get_by_role("button", name="查找").click()
        expect(page.locator(".counts")).to_contain_text("找到 1 条")
        row = page.locator("table.found tbody tr")
        expect(row).to_contain_text("银行卡丢失/被盗刷")
        expect(row).to_contain_text("*******8000")
        screenshot(page, SCREENSHOT)
        assert PHONE not in page.content()
        row.get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("银行卡丢失/被盗刷")
        expect(page.get_by_role("button", name="接入")).to_be_visible()
