"""Suggested answers in a real browser (Debian's Chromium): a customer asks a question
on a claimed case, the agent inserts the knowledge base's answer, edits it and sends it."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.bank.db import transaction
from bot.bank.models import SuggestionUse
from tests import test_desk_browser as browser_tests
from tests.test_desk_browser import CONVERSATION, chromium_page, claim_stolen_card_case, screenshot, sign_in
from tests.test_desk_escalations import outbox
from tests.test_desk_suggestions import keep_published

console, fake_rasa = browser_tests.console, browser_tests.fake_rasa   # fixtures

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "desk-suggested-answer.png"
MATCHER_BUILT = 120_000   # ms: the first request of the console builds the matcher on a shared machine


@pytest.fixture
def small_knowledge_base(bank_db, monkeypatch):
    keep_published(monkeypatch)


def test_a_new_customer_question_brings_a_suggestion_the_agent_inserts_and_sends(small_knowledge_base, console,
                                                                                fake_rasa):
    with chromium_page() as page:
        sign_in(page, console)
        claim_stolen_card_case(page)
        card = page.locator("[data-suggestions]")
        expect(card.locator("[data-suggestions-state]")).to_contain_text("知识库里没有回答“还在吗？能快点吗”",
                                                                         timeout=MATCHER_BUILT)
        fake_rasa.say(CONVERSATION, "user", "顺便问下，提前还款要收违约金吗", time.time())
        expect(page.locator("[data-chat-log]")).to_contain_text("提前还款要收违约金吗")
        expect(card.locator("[data-suggestions-state]")).to_contain_text("提前还款要收违约金吗")
        card.get_by_role("button", name="插入“提前还款”").click()
        box = page.get_by_label("回复客户")
        expect(box).to_be_focused()
        inserted = box.input_value()
        assert "鹏城银行App" in inserted and "{" not in inserted
        box.press("End")
        box.press_sequentially("还有其他问题随时问我。")
        screenshot(page, SCREENSHOT)
        box.press("Enter")
        expect(page.locator("[data-chat-log] li.sent")).to_contain_text("还有其他问题随时问我。")
    [row] = outbox(CONVERSATION, "agent_message")
    assert row.payload["messages"][0]["text"] == inserted + "还有其他问题随时问我。"
    with transaction() as session:
        [use] = session.execute(select(SuggestionUse)).scalars().all()
        assert (use.topic_key, use.question) == ("early_repayment", "顺便问下，提前还款要收违约金吗")
