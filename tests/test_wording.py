"""Every customer-facing sentence lives in the domain, and is filled the same way everywhere.

Actions name responses and Rasa's NLG fills them; messages sent outside a
turn (the outbox, the channels) are filled by `bot.wording` from the same
files. These tests pin the two fill rules together, fail when Python builds
a customer-facing Chinese sentence of its own, and keep docs/wording.md (the
catalogue a compliance officer reviews) in step with the domain.
"""
from __future__ import annotations

import ast
import copy
import re
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

from bot import wording, wording_catalogue
from bot.bank.handoff.attachments import REFUSALS
from bot.bank.booking.lifecycle import BRING_KEYS
from bot.bank.debit_day.models import RequestStatus
from bot.bank.messaging.models import NotificationKind
from bot.bank.profile import bank_slots

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("actions", "bot/bank", "bot/channels")
CJK = re.compile(r"[\u4e00-\u9fff]")

# Chinese that must stay in Python, by file and the name that holds it. None of
# it is a sentence the bot says: it reads what customers type, is a stored value
# or a data key, or is staff-facing (console labels and notes).
ALLOWED = {
    ("actions/booking.py", "CO_BORROWER"): "the party stored on a co-applicant's booking",
    ("actions/booking.py", "co_applicant_button"): "the service key 面签, a stored value",
    ("actions/common.py", "DAY_WORDS"): "characters that make a time customers type name a day (明天, 周三)",
    ("actions/csat.py", "NUMERALS"): "numerals customers type (五分)",
    ("actions/csat.py", "SCORE_WORDS"): "words customers type to rate us",
    ("actions/csat.py", "digit"): "a pattern reading 4分",
    ("actions/deferral.py", "HARDSHIP"): "words of customers who cannot pay",
    ("actions/deferral.py", "named_date"): "a pattern reading 12月15号",
    ("actions/hours.py", "ASKS_ABOUT_ALL"): "words of a question about every branch",
    ("actions/identity.py", "RESEND"): "words asking for a new code",
    ("bot/bank/booking/counter.py", "STATUS_LABELS"): "console labels for staff",
    ("bot/bank/handoff/canned.py", ""): "the canned replies' placeholders as agents type them ({客户姓名}, {热线})",
    ("bot/bank/handoff/canned.py", "PLACEHOLDERS"): "console help text for agents",
    ("bot/bank/handoff/canned.py", "UNKNOWN_NAME"): "what {客户姓名} becomes in an agent's reply when the name is unknown",
    ("bot/bank/handoff/canned.py", "label"): "a console label for staff",
    ("bot/bank/hours/schedule.py", "KIND_WORDS"): "words staff paste in a holiday table",
    ("bot/bank/hours/schedule.py", "KIND_LABELS"): "console labels for staff",
    ("bot/bank/hours/schedule.py", "_RANGE_SIGN"): "a pattern reading date ranges staff paste",
    ("bot/bank/hours/schedule.py", "parse_table"): "a header word staff paste in a holiday table",
    ("bot/bank/messaging/notifications.py", "KIND_LABELS"): "console labels for staff",
    ("bot/bank/messaging/notifications.py", "STATUS_LABELS"): "console labels for staff",
    ("bot/bank/messaging/notifications.py", "ROUTE_LABELS"): "console labels for staff",
    ("bot/bank/messaging/notifications.py", "claim_sms"): "a delivery note for staff",
    ("bot/bank/profile.py", "OTHER_SERVICE"): "the stored service value 其他",
    ("bot/bank/booking/lifecycle.py", "SELF"): "the stored party value 本人",
    ("bot/bank/booking/choices.py", "MORNING_WORDS"): "words customers type for the morning",
    ("bot/bank/booking/choices.py", "AFTERNOON_WORDS"): "words customers type for the afternoon",
    ("bot/bank/booking/choices.py", "ANY_WORDS"): "words customers type for any time (随便)",
    ("bot/bank/booking/choices.py", "MORE_WORDS"): "words customers type for more times",
    ("bot/bank/booking/choices.py", "OTHER_DAY_WORDS"): "words customers type for another day",
    ("bot/bank/booking/choices.py", "LAST_WORDS"): "words customers type for the last choice",
    ("bot/bank/booking/choices.py", "CHANGE_WORDS"): "words customers type to change an answer",
    ("bot/bank/booking/choices.py", "CHANGE_TARGET"): "words customers type before the new answer",
    ("bot/bank/booking/choices.py", "CHINESE_DIGITS"): "numerals customers type in an ordinal (第二个)",
    ("bot/bank/booking/choices.py", "ORDINAL"): "a pattern reading 第二个",
    ("bot/bank/booking/service_words.py", "MEASURE"): "measure words customers type (办张卡)",
    ("bot/bank/booking/service_words.py", "DEBIT_DAY"): "words customers type for moving the debit day",
    ("bot/bank/booking/lifecycle.py", "BRING_KEYS"): "service names (data) mapped to response keys",
    ("bot/bank/booking/models.py", "party"): "the column default 本人",
    ("bot/bank/capacity/admin.py", "listed"): "a console summary of booked slots for staff",
    ("bot/bank/capacity/admin.py", "more"): "a console summary of booked slots for staff",
    ("bot/bank/debit_day/applications.py", "REASONS"): "stored reason values, offered as buttons",
    ("bot/bank/debit_day/applications.py", "OTHER_REASON"): "the stored default reason 其他原因",
    ("bot/bank/debit_day/applications.py", "REASON_WORDS"): "words customers type for each offered reason",
    ("bot/bank/migrations/versions/0019_gentler_deferral_reasons.py", "RENAMED"): "stored reason values, old and new",
    ("actions/notifications.py", "RESUME"): "words customers type to have the reminders back",
    ("actions/notifications.py", "NEGATION"): "words customers type to say no",
    ("bot/bank/migrations/versions/0018_plain_deferral_reasons.py", "RENAMED"): "stored reason values, old and new",
    ("bot/bank/formatting.py", "WEEKDAY_LABELS"): "the one date format",
    ("bot/bank/formatting.py", "RELATIVE_DAYS"): "the one date format",
    ("bot/bank/formatting.py", "month_day"): "the one date format",
    ("bot/bank/handoff/escalations.py", "REASONS"): "console labels for staff",
    ("bot/bank/handoff/escalations.py", "transfer"): "a case note for staff",
    ("bot/bank/handoff/escalations.py", "outcome"): "a case note for staff",
    ("bot/bank/handoff/escalations.py", "close_note"): "a case note for staff",
    ("bot/bank/handoff/attachments.py", "stem"): "the stored name of a file sent without one",
    ("bot/bank/handoff/attachments.py", "label"): "how a customer's file stands in the transcript staff read",
    ("bot/channels/wechat.py", "PHOTO_NAME"): "the stored name of a photo sent on WeChat",
    ("bot/bank/handoff/live.py", "SYSTEM_AUTHOR"): "the author of notes the console writes itself, for staff",
    ("bot/bank/handoff/live.py", "alert_supervisors"): "the supervisor alert's case note for staff",
    ("bot/bank/handoff/supervision.py", "took_from"): "the take-over's case note for staff",
    ("bot/bank/handoff/supervision.py", "take_over"): "the take-over's case note for staff",
    ("bot/bank/hours/holidays.py", "HOLIDAY_NAMES_ZH"): "names of public holidays (data)",
    ("bot/bank/knowledge/topics.py", "note"): "a console history line for staff",
    ("bot/bank/seed.py", "BRANCH_NOTICE"): "demo data staff would enter in the console",
    ("bot/bank/seed.py", "demo"): "demo data staff would enter in the console",
    ("bot/bank/staff/accounts.py", "ROLE_LABELS"): "console labels for staff",
    ("bot/bank/staff/accounts.py", "ensure_first_admin"): "the first admin's name in the console",
    ("bot/bank/vocabulary.py", "vocabulary"): "training data for the NLU",
}


def _docstrings(tree: ast.AST) -> set:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _owner(parents: Tuple[ast.AST, ...]) -> str:
    """The innermost named thing holding a string: an assigned name or a function."""
    for node in reversed(parents):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return node.name
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in targets]
            if names and names[0]:
                return names[0]
    return ""


def _is_refusal(node: ast.AST) -> bool:
    """A `Refusal(code, message)`: its message is for staff; actions map the code to a response."""
    return isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Refusal"


def chinese_in_python() -> Iterator[Tuple[str, str, int, str]]:
    """(file, owner, line, text) for every Chinese string literal outside docstrings and refusals."""
    for top in CHECKED:
        for path in sorted((ROOT / top).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            skipped = _docstrings(tree)
            yield from _walk(tree, (), skipped, path.relative_to(ROOT).as_posix())


def _walk(node: ast.AST, parents: Tuple[ast.AST, ...], skipped: set, rel: str):
    if _is_refusal(node):
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped \
            and CJK.search(node.value):
        yield rel, _owner(parents), node.lineno, node.value
    for child in ast.iter_child_nodes(node):
        yield from _walk(child, parents + (node,), skipped, rel)


def test_no_customer_facing_chinese_is_built_in_python():
    stray = [f"{rel}:{line} in {owner or 'module'}: {text[:40]!r}" for rel, owner, line, text in chinese_in_python()
             if (rel, owner) not in ALLOWED]
    assert stray == [], "put these sentences in domain/<topic>.yml and name the response"


def test_the_guard_finds_a_sentence_a_developer_adds(tmp_path):
    tree = ast.parse('def say(d):\n    """说明。"""\n    d.utter_message(text=f"您好，{1}号")\n')
    found = list(_walk(tree, (), _docstrings(tree), "actions/new.py"))
    assert [(owner, text) for _rel, owner, _line, text in found] == [("say", "您好，"), ("say", "号")]


def test_every_allowance_is_still_needed():
    holders = {(rel, owner) for rel, owner, _line, _text in chinese_in_python()}
    assert sorted(set(ALLOWED) - holders) == []


def _values_for(variant: Dict) -> Dict[str, str]:
    text = " ".join([variant.get("text", "")] + [b["title"] for b in variant.get("buttons") or []])
    return {name: f"<{name}>" for name in wording.PLACEHOLDER.findall(text)}


ALL_VARIANTS = [(name, index) for name, variants in wording.responses().items() for index in range(len(variants))]


@pytest.mark.parametrize("name, index", ALL_VARIANTS)
def test_outside_a_turn_a_response_is_filled_exactly_as_rasa_fills_it(name, index):
    variant = wording.responses()[name][index]
    values = {**bank_slots(), **_values_for(variant)}  # in a turn Rasa always has the bank's slots
    rasa = TemplatedNaturalLanguageGenerator(wording.responses())._fill_response(
        copy.deepcopy(variant), filled_slots={}, **values)
    ours = {key: wording._fill(part, values) for key, part in variant.items()}
    assert ours == rasa


def test_a_missing_value_leaves_the_text_as_written_like_rasa():
    text = "编号{reference}，热线{bank_hotline}"
    rasa = TemplatedNaturalLanguageGenerator({})._fill_response({"text": text}, filled_slots={}, bank_hotline="1")
    assert wording.fill_text(text, {"bank_hotline": "1"}) == rasa["text"] == text


def test_a_rendered_message_names_its_response_and_carries_the_bank_slots():
    message = wording.render("utter_handoff_unclaimed")
    assert message["metadata"]["utter_action"] == "utter_handoff_unclaimed"
    assert "400-830-9595" in message["text"] and "{" not in message["text"]


def _named_in_python() -> Iterator[Tuple[str, str]]:
    literal, _families = wording_catalogue.uses()
    for name, found in literal.items():
        for use in found:
            if use.path.endswith(".py"):
                yield name, use.path


FAMILIES = {
    "utter_deferral_status_": [status.value for status in RequestStatus] + ["co_borrower_refused"],
    "utter_bring_": sorted(set(BRING_KEYS.values()) | {"other"}),
    "utter_notice_title_": [kind.value for kind in NotificationKind],
    "utter_callback_window_": ["soon", "today_morning", "today_afternoon", "tomorrow_morning", "tomorrow_afternoon"],
    # Every step a stuck customer may be asked again with nothing to choose from (actions/loops.py).
    "utter_stuck_": ["phone", "otp_code", "new_debit_day", "callback_phone", "loan_ref", "booking_day"],
    "utter_attachment_": list(REFUSALS),
}


def test_every_response_python_names_is_in_the_domain():
    missing = sorted({f"{name} ({path})" for name, path in _named_in_python() if name not in wording.responses()})
    missing += [prefix + code for prefix, codes in FAMILIES.items() for code in codes
                if prefix + code not in wording.responses()]
    assert missing == []


def test_every_family_python_names_is_listed_here():
    _literal, families = wording_catalogue.uses()
    assert sorted(families) == sorted(FAMILIES)


def test_the_catalogue_is_current():
    """`make wording` was run after the last change to the domain or to where responses are used."""
    assert (ROOT / "docs" / "wording.md").read_text(encoding="utf-8") == wording_catalogue.catalogue()


def test_the_catalogue_lists_every_response_with_its_use():
    catalogue = wording_catalogue.catalogue()
    for name in wording.responses():
        assert f"### `{name}`" in catalogue
    assert "**nowhere**" not in catalogue


def test_one_vocabulary_in_every_response():
    """One product name, one bot name, one hotline name, 日 for days (the reviewer's findings)."""
    texts = {name: " ".join(v.get("text", "") + " ".join(b["title"] for b in v.get("buttons") or [])
                            for v in variants) for name, variants in wording.responses().items()}
    for name, text in texts.items():
        assert not re.search(r"延期还款|延期申请|还款日申请|工单号|号源|到店|智能助手|下班", text), name
        assert "热线" not in text.replace("24小时客服热线", "").replace("24小时心理援助热线", ""), name
        assert not re.search(r"[0-9]号", text), name
