"""Repayment deferral: care first, then the debit-day change as a form.

The rules (who may apply, 1st-28th, at most a month later, one open request
per loan) live in `bot.bank.deferral`; these actions ask, explain and word.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import buttons, entity_day, latest_entity
from actions.identity import IdentityValidation, channel_of, customer_in, without_identity_when_verified
from actions.resilience import database_guarded
from bot.bank.customers.models import Customer
from bot.bank.db import transaction
from bot.bank.debit_day import applications as deferral
from bot.bank.formatting import month_day
from bot.bank.refusals import Refusal
from bot.bank.profile import load_profile
from bot.clock import now

# Words that say "I cannot pay", not just "a later day suits me better".
HARDSHIP = re.compile(r"还不起|还不上|交不上|付不起|没钱|没有收入|没收入|失业|下岗|裁员|倒闭|破产|停工|停业|欠薪|工资.*没发|病了|住院|走投无路|撑不下去")
FORM_SLOTS = ("loan_ref", "new_debit_day", "deferral_reason", "deferral_confirmed", "deferral_blocked", "hardship")
REFUSALS = {
    "out_of_range": "扣款日只能选每月1号到28号（每个月都有这些天），请换一个日子。",
    "same_day": "这就是现在的扣款日，不用改。想往后挪的话，请选一个更晚的日子。",
    "too_far": "按规定下一期最多只能顺延一个月，这个日子超出了，请选近一点的。",
    "earlier": "新的扣款日不能让这一期提前或落到已经过去的日子，请选一个更晚的日子。",
    "loan_closed": "这笔贷款已经结清或不在还款期，不需要改扣款日。",
}


def the_customer(session, tracker: Tracker) -> Optional[Customer]:
    return customer_in(session, tracker)


def describe_request(view: deferral.RequestView) -> str:
    """One request, its status and what it still waits for, in plain words."""
    status = {
        "submitted": "已提交，等待审核",
        "awaiting_confirmation": "等待共同借款人电话确认",
        "approved": "已通过",
        "rejected": "未通过",
        "cancelled": "已撤销",
    }.get(view.status, view.status)
    text = (f"{view.reference}：{view.product}尾号{view.contract_no[-4:]}，扣款日改到每月{view.requested_day}号，"
            f"下一期从{month_day(view.current_due)}顺延到{month_day(view.new_due)}。状态：{status}。")
    if view.missing:
        people = "、".join(f"{c.name}（{c.phone}）" for c in view.missing)
        text += f"还需要{people}接听我们的录音确认电话。"
    return text


class ActionDeferralIntro(Action):
    """Before any question: care for someone who cannot pay, facts for the rest."""

    def name(self) -> Text:
        return "action_deferral_intro"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        said = tracker.latest_message
        hardship = (said.get("intent") or {}).get("name") == "report_hardship" or bool(
            HARDSHIP.search(said.get("text") or ""))
        if hardship:
            dispatcher.utter_message(
                text="听到您遇到这样的难处，真的很不容易，先别着急，我们一起想办法。"
                     "最快的是把每月扣款日往后改，下一期最多能顺延一个月，我先帮您办；"
                     "如果改日子还不够，随时说“转人工”，客服会帮您看看其他安排，您的申请也会优先处理。",
            )
        else:
            dispatcher.utter_message(
                text="可以的。主借款人可以申请把每月扣款日改到1号至28号中的任意一天，下一期最多顺延一个月。我来帮您办。")
        return [SlotSet("hardship", hardship)]


def named_date(tracker: Tracker, day: int) -> Optional[date]:
    """The exact date the customer named with the day ("延到12月15号"), if any."""
    said = entity_day(tracker)
    return said if said and said.day == day and re.search(r"月", tracker.latest_message.get("text") or "") else None


def check_new_day(dispatcher: CollectingDispatcher, tracker: Tracker, loan_ref: str, day: int) -> Dict[Text, Any]:
    """Apply the debit-day rule to this loan; explain a refusal or the gain."""
    with transaction() as session:
        preview = deferral.preview_change(session, the_customer(session, tracker), loan_ref, day,
                                          target=named_date(tracker, day))
    if not preview.ok:
        dispatcher.utter_message(text=REFUSALS.get(preview.reason, "这个日子不行，请换一个1号到28号之间的日子。"))
        return {"new_debit_day": None}
    dispatcher.utter_message(
        text=f"改到每月{day}号后，下一期从{month_day(preview.current_due)}顺延到{month_day(preview.new_due)}，"
             f"多出{preview.days_gained}天。")
    return {"new_debit_day": str(day)}


@database_guarded
class ValidateDeferralForm(IdentityValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_deferral_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict[Text, Any]) -> List[Text]:
        if tracker.get_slot("deferral_blocked"):
            return []
        return without_identity_when_verified(domain_slots, tracker)

    def validate_loan_ref(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: Dict[Text, Any]) -> Dict[Text, Any]:
        with transaction() as session:
            customer = the_customer(session, tracker)
            lookup = deferral.find_loan(session, customer, str(value)) if customer else None
            if lookup is None or not lookup.found:
                dispatcher.utter_message(text="没有在您名下找到这笔贷款，请核对合同号或尾号后四位，也可以点下面的贷款。")
                return {"loan_ref": None}
            if lookup.role == deferral.CO_BORROWER:
                return {"loan_ref": lookup.loan.contract_no, "deferral_blocked": "co_borrower"}
            if any(r.is_open and r.contract_no == lookup.loan.contract_no for r in deferral.requests_of(session, customer)):
                return {"loan_ref": lookup.loan.contract_no, "deferral_blocked": "already_open"}
        said_day = tracker.get_slot("new_debit_day")
        if said_day:
            return {"loan_ref": lookup.loan.contract_no,
                    **check_new_day(dispatcher, tracker, lookup.loan.contract_no, int(said_day))}
        return {"loan_ref": lookup.loan.contract_no}

    def validate_new_debit_day(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: Dict[Text, Any]) -> Dict[Text, Any]:
        try:
            day = int(value)
        except (TypeError, ValueError):
            dispatcher.utter_message(text=REFUSALS["out_of_range"])
            return {"new_debit_day": None}
        if not tracker.get_slot("loan_ref"):
            return {"new_debit_day": str(day)}  # said up front: checked once the loan is known
        return check_new_day(dispatcher, tracker, tracker.get_slot("loan_ref"), day)

    def validate_deferral_reason(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: Dict[Text, Any]) -> Dict[Text, Any]:
        return {"deferral_reason": deferral.normalise_reason(str(value))}


@database_guarded
class ActionAskLoanRef(Action):
    def name(self) -> Text:
        return "action_ask_loan_ref"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        with transaction() as session:
            customer = the_customer(session, tracker)
            loans = deferral.loans_of(session, customer) if customer else []
        dispatcher.utter_message(
            text="是哪一笔贷款？请告诉我合同号，或者说“尾号”加合同号后四位。",
            buttons=buttons((f"{loan.product} 尾号{loan.tail}", f'/inform{{"loan_ref":"{loan.contract_no}"}}')
                            for loan in loans),
        )
        return []


class ActionAskDeferralReason(Action):
    def name(self) -> Text:
        return "action_ask_deferral_reason"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        dispatcher.utter_message(text="方便说一下原因吗？选一个就好：",
                                 buttons=buttons((reason, reason) for reason in deferral.REASONS))
        return []


@database_guarded
class ActionAskDeferralConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_deferral_confirmed"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        with transaction() as session:
            preview = deferral.preview_change(session, the_customer(session, tracker), tracker.get_slot("loan_ref"),
                                              int(tracker.get_slot("new_debit_day")))
        loan = preview.loan
        dispatcher.utter_message(
            text=(f"请确认：{loan.product}（尾号{loan.tail}）每月扣款日改到{preview.new_day}号，"
                  f"下一期从{month_day(preview.current_due)}顺延到{month_day(preview.new_due)}，"
                  f"原因：{tracker.get_slot('deferral_reason')}。提交吗？"),
            buttons=buttons([("确认提交", "/affirm"), ("先不申请了", "/deny")]),
        )
        return []


def next_steps(view: deferral.RequestView) -> str:
    """What happens after submitting: the co-borrower call, the decision, interest."""
    steps = []
    if view.missing:
        people = "、".join(c.name for c in view.missing)
        steps.append(f"我们的服务中心会给共同借款人{people}打一个录音确认电话，请提醒他们接听；纸质签字等疫情过后再补。")
    steps.append("确认后1到3个工作日内会有审核结果，结果会在这里通知您，也可以随时问我“申请进度”。")
    steps.append("顺延期间按合同利率正常计息，不算逾期，不影响征信。")
    return "\n".join(f"{n}. {step}" for n, step in enumerate(steps, 1))


@database_guarded
class ActionSubmitDeferral(Action):
    """Create the request (or explain why not) and say what happens next."""

    def name(self) -> Text:
        return "action_submit_deferral"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        blocked = tracker.get_slot("deferral_blocked")
        if blocked == "co_borrower":
            dispatcher.utter_message(
                text="您是这笔贷款的共同借款人。按规定改扣款日需要由主借款人申请，我们会电话和您确认。"
                     "您可以请主借款人来找我；有困难的话，我也可以帮您转人工客服。",
                buttons=buttons([("转人工客服", "/request_human")]))
            return reset()
        if blocked == "already_open" or tracker.get_slot("deferral_confirmed"):
            self._submit(dispatcher, tracker)
        else:
            dispatcher.utter_message(response="utter_deferral_quit")
        return reset()

    @staticmethod
    def _submit(dispatcher, tracker: Tracker) -> None:
        with transaction() as session:
            customer = the_customer(session, tracker)
            existing = [r for r in deferral.requests_of(session, customer)
                        if r.is_open and r.contract_no == tracker.get_slot("loan_ref")]
            if existing:
                dispatcher.utter_message(text="这笔贷款已经有一个申请在处理中，不用重复提交：\n" + describe_request(existing[0]))
                return
            result = deferral.submit_request(
                session, customer, tracker.get_slot("loan_ref"), int(tracker.get_slot("new_debit_day")),
                tracker.get_slot("deferral_reason") or "其他", bool(tracker.get_slot("hardship")),
                channel_of(tracker), tracker.sender_id, now())
        if not result.ok:
            dispatcher.utter_message(text=REFUSALS.get(result.reason, "这次没能提交成功，请稍后再试，或拨打热线" + load_profile().hotline + "。"))
            return
        dispatcher.utter_message(
            text=f"申请已提交，编号 {result.request.reference}。\n{describe_request(result.request)}\n接下来：\n{next_steps(result.request)}")


def reset() -> List[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


@database_guarded
class ValidateDeferralStatusForm(IdentityValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_deferral_status_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict[Text, Any]) -> List[Text]:
        return without_identity_when_verified(domain_slots, tracker)


@database_guarded
class ActionDeferralStatus(Action):
    """Every request of the customer, with cancel buttons for undecided ones."""

    def name(self) -> Text:
        return "action_deferral_status"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        reference = latest_entity(tracker, "deferral_ref")
        with transaction() as session:
            customer = the_customer(session, tracker)
            if customer and reference and latest_entity(tracker, "deferral_action") == "cancel":
                try:
                    view = deferral.cancel_request(session, customer, reference, now())
                    dispatcher.utter_message(text="已撤销：" + describe_request(view))
                except Refusal:
                    dispatcher.utter_message(text="这个申请已经有结果了或找不到，不能撤销。")
                return []
            mine = deferral.requests_of(session, customer) if customer else []
        if not mine:
            dispatcher.utter_message(text="您目前没有改扣款日的申请。需要的话，跟我说“想改扣款日”就可以申请。")
            return []
        dispatcher.utter_message(
            text="您的申请：\n" + "\n".join(describe_request(view) for view in mine),
            buttons=buttons(
                (f"撤销 {view.reference}", f'/check_deferral_status{{"deferral_ref":"{view.reference}","deferral_action":"cancel"}}')
                for view in mine if view.is_open),
        )
        return []
