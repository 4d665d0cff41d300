"""Whatever is POSTed to the REST webhook: a 4xx or a polite reply, never a 5xx.

The WeChat webhook has its own fuzzing in the WeChat tests.
"""
from __future__ import annotations

import json
import uuid

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.stack import Stack

pytestmark = pytest.mark.server

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


@pytest.fixture(scope="module")
def fuzz_stack(stack):
    """The shared stack: a body that harmed it would harm every later test's customer too,
    which is what this file is here to rule out (and a Rasa start less in `make test`)."""
    return stack


def post(stack: Stack, body: bytes, **params) -> requests.Response:
    return requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", data=body, params=params,
                         headers={"Content-Type": "application/json"}, timeout=60)


def as_json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def sender() -> str:
    return f"fuzz-{uuid.uuid4().hex[:10]}"


def assert_polite(response: requests.Response) -> None:
    """A 4xx or 200, and either way messages a client can show as they are."""
    assert response.status_code < 500, response.text
    assert 400 <= response.status_code < 500 or response.status_code == 200, response.status_code
    messages = response.json()
    assert isinstance(messages, list) and messages
    assert all(isinstance(message, dict) and message.get("text") for message in messages)


def assert_still_answering(stack: Stack) -> None:
    assert stack.say(sender(), "你好")


BAD_BODIES = {
    "empty body": b"",
    "1 MB body": as_json({"sender": "fuzz-big", "message": "转账" * 175_000}),
    "invalid JSON": b'{"sender": "fuzz-x", "message": ',
    "invalid UTF-8": b'{"sender": "fuzz-x", "message": "\xff\xfe\xc3"}',
    "raw control characters": b'{"sender": "fuzz-x", "message": "a\x00\x07\x1bb"}',
    "message as a list": as_json({"sender": "fuzz-x", "message": ["转账"]}),
    "message as a number": as_json({"sender": "fuzz-x", "message": 12345}),
    "message missing": as_json({"sender": "fuzz-x"}),
    "sender missing": as_json({"message": "你好"}),
    "sender as an object": as_json({"sender": {"id": 1}, "message": "你好"}),
    "sender with a newline": as_json({"sender": "a\nb", "message": "你好"}),
    "metadata as a string": as_json({"sender": "fuzz-x", "message": "你好", "metadata": "x"}),
    "body is a list": as_json([{"sender": "fuzz-x", "message": "你好"}]),
    "deeply nested": b"[" * 100_000,
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_request_gets_a_4xx_with_a_message(fuzz_stack, body):
    response = post(fuzz_stack, body)
    assert 400 <= response.status_code < 500
    assert_polite(response)
    assert_still_answering(fuzz_stack)


@pytest.mark.parametrize("text", ["\u0000\u0007\u001b", "\ud83d", "你好\u202e\u200b", " " * 5000],
                         ids=["escaped-control", "lone-surrogate", "bidi-and-zero-width", "5000-spaces"])
def test_odd_but_well_formed_text_gets_an_answer(fuzz_stack, text):
    response = post(fuzz_stack, json.dumps({"sender": sender(), "message": text}).encode("ascii"))
    assert response.status_code == 200
    assert_polite(response)


def test_a_numeric_sender_is_accepted_as_rasa_accepts_it(fuzz_stack):
    response = post(fuzz_stack, as_json({"sender": 20260928, "message": "你好"}))
    assert response.status_code == 200 and response.json()[0]["recipient_id"] == "20260928"


def test_streaming_answers_line_by_line(fuzz_stack):
    response = post(fuzz_stack, as_json({"sender": sender(), "message": "你好"}), stream="true")
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    assert lines and all(line.get("text") for line in lines)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(as_json),
    st.fixed_dictionaries({"sender": JSON_VALUES, "message": JSON_VALUES}).map(as_json),
    st.fixed_dictionaries({"sender": st.text(min_size=1, max_size=20).map(lambda s: f"fuzz-{s}"),
                           "message": st.text(max_size=200)}).map(as_json),
))
def test_generated_bodies_never_get_a_5xx(fuzz_stack, body):
    assert_polite(post(fuzz_stack, body))


def test_the_server_still_answers_after_all_that(fuzz_stack):
    assert_still_answering(fuzz_stack)
