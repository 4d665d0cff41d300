"""Counts from Rasa's event stream and the guard's timings, on GET /metrics."""
from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.metrics import count_event
from tests.conftest import PINNED_NOW
from tests.conversation import Customer
from tests.stack import Stack


def value(counter, *labels) -> float:
    return (counter.labels(*labels) if labels else counter)._value.get()


def test_user_events_count_messages_intents_and_fallbacks():
    before = (value(metrics.MESSAGES, "wechat"), value(metrics.INTENTS, "nlu_fallback"),
              value(metrics.FALLBACKS, "nlu_fallback"), value(metrics.INTENTS, "greet"))
    count_event({"event": "user", "input_channel": "wechat", "parse_data": {"intent": {"name": "nlu_fallback"}}})
    count_event({"event": "user", "input_channel": "wechat", "parse_data": {"intent": {"name": "greet"}}})
    after = (value(metrics.MESSAGES, "wechat"), value(metrics.INTENTS, "nlu_fallback"),
             value(metrics.FALLBACKS, "nlu_fallback"), value(metrics.INTENTS, "greet"))
    assert [a - b for a, b in zip(after, before)] == [2, 1, 1, 1]


@pytest.mark.parametrize(("action", "counter"), [("action_hand_off", metrics.HANDOFFS),
                                                 ("action_submit_booking", metrics.BOOKINGS),
                                                 ("action_submit_deferral", metrics.DEFERRALS)])
def test_actions_that_matter_are_counted(action, counter):
    before = value(counter)
    count_event({"event": "action", "name": action})
    count_event({"event": "action", "name": "action_listen"})
    count_event({"event": "bot", "text": "你好"})
    assert value(counter) == before + 1


METRICS_TOKEN = "metrics-test-token"

# --- over HTTP --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def metrics_stack(tmp_path_factory):
    running = Stack(workdir=tmp_path_factory.mktemp("metrics"),
                    env_extra={"HELPLINE_NOW": PINNED_NOW, "HELPLINE_METRICS_TOKEN": METRICS_TOKEN}).start()
    yield running
    running.stop()


def scrape(stack: Stack) -> dict:
    """{(sample name, frozenset of labels): value} from /metrics."""
    response = requests.get(f"{stack.rasa_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


@pytest.mark.server
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", METRICS_TOKEN, f"Basic {METRICS_TOKEN}"])
def test_metrics_answer_only_the_scraper_with_the_token(metrics_stack, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.get(f"{metrics_stack.rasa_url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 401 and "helpline_" not in response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.server
def test_without_a_metrics_token_there_are_no_metrics_on_the_public_port(stack):
    response = requests.get(f"{stack.rasa_url}/metrics", headers={"Authorization": "Bearer "}, timeout=10)
    assert response.status_code == 404 and "helpline_" not in response.text


def book(customer: Customer) -> None:
    customer.says("我想预约去网点办业务").says('/inform{"branch":"福田支行"}').says('/inform{"service":"面签"}')
    customer.says("明天").clicks(0).says("13800138001")
    customer.says(customer.latest_code()).says("/affirm")
    assert "预约成功" in customer.text


@pytest.mark.server
def test_metrics_show_what_happened_in_conversations(metrics_stack):
    Customer(metrics_stack).says("你好").says("手机银行怎么开通")
    Customer(metrics_stack).says("🙏🙏🙏")
    Customer(metrics_stack).says("转人工")
    book(Customer(metrics_stack))
    seen = scrape(metrics_stack)

    def sample(name, **labels):
        return seen.get((name, frozenset(labels.items())), 0)

    assert sample("helpline_messages_total", channel="rest") >= 12
    assert sample("helpline_intents_total", intent="greet") >= 1
    assert sample("helpline_fallbacks_total", intent="nlu_fallback") >= 1
    assert sample("helpline_handoffs_total") >= 1
    assert sample("helpline_booking_submissions_total") == 1
    assert sample("helpline_deferral_submissions_total") == 0
    assert sample("helpline_reply_seconds_count", channel="rest") >= 12
    assert sample("helpline_processing_seconds_count", channel="rest") >= 12
    assert sample("helpline_reply_seconds_bucket", channel="rest", le="5.0") >= 12
