"""The Rasa server's speed fixes keep Rasa's behaviour (bot/serving)."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.utils.common import all_subclasses

from bot.serving import action_results, event_types

VALID = {"events": [{"event": "slot", "timestamp": None, "name": "branch", "value": "福田支行"},
                    {"event": "active_loop", "name": "booking_form"}],
         "responses": [{"text": "请问您要办理什么业务？"}]}


def test_a_valid_action_reply_passes_as_with_rasa() -> None:
    assert RemoteAction("action_x", None)._validate_action_result(VALID) is True  # Rasa's own check
    assert action_results.validate_action_result(RemoteAction("action_x", None), VALID) is True


@pytest.mark.parametrize("broken", [
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "name": 7}]},
    {"events": "not a list"},
    {"responses": ["not an object"]},
])
def test_a_malformed_action_reply_is_refused_with_rasas_hint(broken: dict) -> None:
    with pytest.raises(ValidationError) as rasa_error:
        RemoteAction("action_x", None)._validate_action_result(broken)
    with pytest.raises(ValidationError) as ours:
        action_results.validate_action_result(RemoteAction("action_x", None), broken)
    assert ours.value.message == rasa_error.value.message
    assert "Failed to validate Action server response" in ours.value.message


def test_install_replaces_rasas_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    action_results.install()
    assert RemoteAction._validate_action_result is action_results.validate_action_result


def event_type_names() -> list:
    return sorted({cls.type_name for cls in all_subclasses(Event)} | {"topic"})


@pytest.mark.parametrize("type_name", event_type_names())
def test_an_event_class_is_found_as_rasa_finds_it(type_name: str) -> None:
    assert event_types.resolve_by_type(type_name) is event_types._rasas_resolve_by_type(type_name)
    assert event_types.resolve_by_type(type_name, SlotSet) is event_types._rasas_resolve_by_type(type_name, SlotSet)


def test_an_unknown_event_type_fails_as_in_rasa() -> None:
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        event_types.resolve_by_type("no_such_event")
    assert event_types.resolve_by_type("no_such_event", SlotSet) is SlotSet


def test_events_deserialise_with_the_cached_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])  # restored afterwards
    event_types.install()
    assert Event.from_parameters({"event": "slot", "name": "branch", "value": "福田支行"}) == SlotSet("branch", "福田支行")
