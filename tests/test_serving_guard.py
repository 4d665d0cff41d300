"""The serving patches install only on the Rasa they were written for (bot/serving/guard.py)."""
import logging

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.version import __version__ as installed_rasa

from bot.serving import action_results, event_types, graph_runner, guard

PATCHES = (action_results.PATCH, event_types.PATCH, graph_runner.PATCH)


@pytest.mark.parametrize("patch, target", [(patch, target) for patch in PATCHES for target in patch.mirrors],
                         ids=lambda value: getattr(value, "name", value))
def test_the_rasa_source_a_patch_mirrors_is_unchanged(patch: guard.Patch, target: str) -> None:
    """Fails after a Rasa upgrade until someone re-reads the patch and pins the new source."""
    assert guard.source_hash(target) == patch.mirrors[target]


@pytest.mark.parametrize("patch", PATCHES, ids=lambda patch: patch.name)
def test_every_patch_is_on_with_the_rasa_installed_here(patch: guard.Patch) -> None:
    assert patch.written_for == installed_rasa


def test_a_replaced_function_no_longer_matches_its_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    target = "rasa.core.actions.action:RemoteAction._validate_action_result"
    monkeypatch.setattr(RemoteAction, "_validate_action_result", action_results.validate_action_result)
    assert guard.source_hash(target) != action_results.PATCH.mirrors[target]


def test_on_another_rasa_a_patch_stays_off_and_says_so(monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    stock = Event.__dict__["resolve_by_type"]
    monkeypatch.setattr(Event, "resolve_by_type", stock)  # restored afterwards
    with caplog.at_level(logging.WARNING, logger="bot.serving.guard"):
        assert guard.install(event_types.PATCH, rasa_version="3.6.22") is False
    assert Event.__dict__["resolve_by_type"] is stock
    assert "event_types is off: written for Rasa 3.6.21, this is Rasa 3.6.22" in caplog.text


def test_on_its_own_rasa_a_patch_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    assert action_results.install() is True
    assert RemoteAction._validate_action_result is action_results.validate_action_result
