"""The insights dashboard in Debian's Chromium: an admin signs in, opens the
week of tests/test_insights.py and sees the charts drawn from its figures.

The console runs on a loopback port in a thread (tests/test_widget_browser.py's
DeskServer, with the insights pages added). No Rasa server is needed: the
week's conversations are written straight into a scratch tracker database.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from bot.bank.db import transaction
from bot.bank.staff.accounts import create_staff
from tests.test_desk import NOW, PASSWORD
from tests.test_insights import PHONE, WEEK_QUERY, build_week
from tests import test_widget_browser
from tests.test_widget_browser import SCREENSHOTS, DeskServer

pytestmark = [pytest.mark.browser]
browser = test_widget_browser.browser      # Debian's Chromium, never a downloaded one


def test_the_dashboard_draws_the_weeks_charts(bank_db, monkeypatch, tmp_path, browser):
    with ThreadPoolExecutor(1) as worker:    # Playwright's sync API already runs a loop in this thread
        worker.submit(asyncio.run, build_week(monkeypatch, tmp_path)).result()
    with transaction() as db:
        create_staff(db, username="boss", display_name="赵总", role="admin", password=PASSWORD, when=NOW)
    desk = DeskServer().start()
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        page.goto(desk.url + "login")
        page.fill("input[name=username]", "boss")
        page.fill("input[name=password]", PASSWORD)
        page.click("button.primary")
        page.goto(desk.url + f"insights?{WEEK_QUERY}")
        expect(page.locator("h1")).to_contain_text("服务分析")
        # trend lines: conversations and hand-offs on each of the 4 days
        expect(page.locator('svg[data-chart="volume"] circle.point')).to_have_count(8)
        expect(page.locator('svg[data-chart="volume"] polyline.line')).to_have_count(2)
        # rates: no survey was answered on the 24th, so satisfaction has 3 points and breaks there
        expect(page.locator('svg[data-chart="rates"] circle.point')).to_have_count(11)
        expect(page.locator('svg[data-chart="rates"] line.target')).to_have_count(1)
        # bars: held / cancelled / no-show for each of the 9 branches; 8 hand-off reasons
        expect(page.locator('svg[data-chart="branches"] rect.bar')).to_have_count(27)
        expect(page.locator('svg[data-chart="reasons"] rect.bar')).to_have_count(8)
        futian_held = page.locator('svg[data-chart="branches"] rect.bar.s0',
                                   has=page.locator("title", has_text="福田支行"))
        assert futian_held.bounding_box()["height"] > 20          # drawn, not just present
        expect(page.locator(".tile-missed")).to_have_count(3)     # online share, satisfaction, callbacks
        assert PHONE not in page.content()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "insights.png"), full_page=True)
        page.goto(desk.url + f"insights/learning?{WEEK_QUERY}")
        expect(page.locator(".learning-group")).not_to_have_count(0)
        page.screenshot(path=str(SCREENSHOTS / "insights-learning.png"), full_page=True)
    finally:
        page.close()
        desk.stop()
