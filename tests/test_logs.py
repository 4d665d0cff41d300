"""JSON log lines without personal data, in unit and in both running servers."""
from __future__ import annotations

import json
import logging
import uuid

import pytest

from bot.logs import JsonFormatter, MaskingFilter, client_address, config_file_from, conversation_id
from tests.stack import Stack

PHONE = "13800138000"
RESIDENT_ID = "11010519491231002X"
CARD = "6222021234567890128"
NUMBERS = (PHONE, RESIDENT_ID, CARD)


def emit(message, *args, exc_info=None, **extra) -> dict:
    """One record through the filter and the formatter, parsed back."""
    record = logging.LogRecord("bot.test", logging.INFO, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    assert MaskingFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_numbers_in_the_message_and_its_arguments_are_masked():
    line = emit("customer %s gave id %s, card " + CARD, PHONE, RESIDENT_ID)
    assert line["message"] == "customer *******8000 gave id **************002X, card ***************0128"
    assert line["level"] == "INFO" and line["logger"] == "bot.test" and line["time"]


def test_rasa_structlog_events_are_decoded_masked_and_kept_as_data():
    # What Rasa hands the standard logger: JSON with Chinese escaped, so a
    # number follows the letter of an escape ("\\u673a13800138000").
    rendered = json.dumps({"event": "processor.message.handle", "text": f"我的手机{PHONE}", "sender_id": "s1"})
    line = emit(rendered)
    assert line["message"] == "processor.message.handle"
    assert line["data"] == {"text": "我的手机*******8000", "sender_id": "s1"}


def test_tracebacks_and_extra_fields_are_masked():
    try:
        raise ValueError(f"bad card {CARD}")
    except ValueError as error:
        line = emit("failed", exc_info=(type(error), error, error.__traceback__), request=f"GET /x?phone={PHONE}")
    assert CARD not in line["exception"] and "***************0128" in line["exception"]
    assert line["extra"] == {"request": "GET /x?phone=*******8000"}


@pytest.mark.parametrize("variable, key, value", [(conversation_id, "conversation_id", "wx-openid-42"),
                                                  (client_address, "client", "198.51.100.7")],
                         ids=["conversation id", "client address"])
def test_the_request_context_is_added_where_known(variable, key, value):
    assert key not in emit("hello")
    token = variable.set(value)
    try:
        assert emit("hello")[key] == value
    finally:
        variable.reset(token)


def test_a_broken_surrogate_does_not_break_the_line():
    record = logging.LogRecord("bot.test", logging.INFO, __file__, 1, "lone \ud83d", None, None)
    line = JsonFormatter().format(record)
    line.encode("utf-8")  # a handler writing UTF-8 would raise on a raw surrogate
    assert json.loads(line)["message"] == "lone \ud83d"


def test_the_config_file_is_found_on_the_command_line():
    assert config_file_from(["rasa", "run", "--logging-config-file", "a.yml", "--debug"]) == "a.yml"
    assert config_file_from(["rasa", "run", "--logging-config-file=b.yml"]) == "b.yml"
    assert config_file_from(["rasa", "run"]) is None


# --- both servers ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def debug_stack(tmp_path_factory):
    """Both servers with --debug: Rasa logs every message it handles."""
    running = Stack(workdir=tmp_path_factory.mktemp("logs"), debug=True,
                    env_extra={"HELPLINE_NOW": "2026-09-28T09:30:00+08:00"}).start()
    yield running
    running.stop()


def json_lines(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.server
def test_no_full_number_reaches_either_log(debug_stack):
    sender = f"logs-{uuid.uuid4().hex[:8]}"
    debug_stack.say(sender, f"我的手机是{PHONE}，身份证{RESIDENT_ID}，银行卡{CARD}，帮我查一下")
    # The booking form's phone step runs in the action server.
    debug_stack.say(sender, "我想预约明天去福田支行面签")
    debug_stack.say(sender, "上午9点")
    debug_stack.say(sender, PHONE)
    rasa_log, actions_log = debug_stack.log("rasa.log"), debug_stack.log("actions.log")
    for number in NUMBERS:
        assert number not in rasa_log and number not in actions_log
    for masked in ("*******8000", "**************002X", "***************0128"):
        assert masked in rasa_log, "the message was logged, masked"
    rasa_lines = json_lines(rasa_log)
    handled = [line for line in rasa_lines if line.get("conversation_id") == sender]
    assert handled and {"time", "level", "logger", "message"} <= set(handled[0])
    assert any(line.get("conversation_id") == sender for line in json_lines(actions_log))
