"""Deferral rules: whose loan, who may apply, one open request, confirmations, decisions."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Optional

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.bank.debit_day import applications as deferral
from bot.bank.debit_day import review
from bot.bank.debit_day.notify import decision_message
from bot.bank.db import transaction
from bot.bank.customers.identity import customer_by_phone as by_phone
from bot.bank.debit_day.demo_loans import seed_loans
from bot.bank.masking import mask_name
from bot.bank.models import CoBorrower, CoBorrowerConfirmation, Customer, DeferralRequest, Loan
from bot.bank.seed import seed
from bot.bank import references
from bot.bank.references import ReferenceKind
from bot.clock import SHANGHAI
from bot.bank.debit_day.models import ConfirmationStatus, RequestStatus
from bot.bank.refusals import Refusal
from tests.bankdb import postgres_available, scratch_postgres

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)
HOME = "PC2020HL000123"       # 房贷, 陈志明 13800138000, co-borrower 林秀英 13800138001, due the 25th
CONSUMER = "PC2022XF004521"   # 消费贷, 黄丽萍 13900139000, single borrower, due the 10th
BUSINESS = "PC2019JY000876"   # 经营贷, 刘建华 13700137000, co-borrowers 刘建军 …001 and 周敏 …002
CHEN, HUANG, LIU, LIN = "13800138000", "13900139000", "13700137000", "13800138001"


def customer(phone: str) -> Customer:
    with transaction() as session:
        return by_phone(session, phone)


def submit(phone: str, loan_ref: str, new_day: int, hardship: bool = False, when: datetime = NOW,
           reason: str = "收入减少", target: Optional[date] = None) -> deferral.Submission:
    with transaction() as session:
        return deferral.submit_request(session, by_phone(session, phone), loan_ref, new_day, reason, hardship,
                                       "wechat", f"openid-{phone}", when, target=target)


def lookup(phone: str, loan_ref: str) -> deferral.LoanLookup:
    with transaction() as session:
        return deferral.find_loan(session, by_phone(session, phone), loan_ref)


def confirm(reference: str, phone: str, outcome: str = ConfirmationStatus.CONFIRMED) -> review.QueueItem:
    with transaction() as session:
        return review.record_confirmation(session, reference, phone, outcome, f"REC-{phone}", "staff01", NOW)


def request_count() -> int:
    with transaction() as session:
        return session.execute(select(func.count(DeferralRequest.id))).scalar_one()


# --- demo loans -----------------------------------------------------------


def test_demo_loans_are_seeded_with_due_dates_after_today(bank_db):
    with transaction() as session:
        loans = {loan.contract_no: loan for loan in session.execute(select(Loan)).scalars()}
        co_borrowers = {no: [c.phone for c in loan.co_borrowers] for no, loan in loans.items()}
    assert 4 <= len(loans) <= 6
    assert all(re.fullmatch(r"PC20[0-9]{2}(HL|JY|XF)[0-9]{6}", no) for no in loans)
    assert {loan.product for loan in loans.values()} == {"房贷", "经营贷", "消费贷"}
    assert co_borrowers[CONSUMER] == [] and co_borrowers[HOME] == [LIN] and len(co_borrowers[BUSINESS]) == 2
    assert loans[HOME].next_due == date(2026, 10, 25) and loans[CONSUMER].next_due == date(2026, 10, 10)
    assert all(loan.next_due > NOW.date() and loan.next_due.day == loan.debit_day for loan in loans.values())
    assert loans[HOME].next_amount == Decimal("6842.37")


def test_seeding_again_upserts_loans_and_never_touches_requests(bank_db):
    made = submit(CHEN, HOME, 15)
    with transaction() as session:
        session.execute(select(Loan).where(Loan.contract_no == HOME)).scalar_one().debit_day = 3
    seed()
    with transaction() as session:
        assert session.execute(select(func.count(Loan.id))).scalar_one() == 5
        assert session.execute(select(func.count(CoBorrower.id))).scalar_one() == 3
        assert session.execute(select(Loan).where(Loan.contract_no == HOME)).scalar_one().debit_day == 25
        assert deferral.requests_of(session, by_phone(session, CHEN))[0].reference == made.request.reference


def test_seed_loans_computes_due_dates_from_the_given_day(bank_db):
    with transaction() as session:
        seed_loans(session, date(2026, 12, 25))
        loan = session.execute(select(Loan).where(Loan.contract_no == HOME)).scalar_one()
    assert loan.next_due == date(2027, 1, 25)  # on the debit day itself, the next one is ahead


# --- identifying a loan ---------------------------------------------------


@pytest.mark.parametrize("loan_ref", [HOME, "pc2020hl000123", "PC 2020 HL 000123", "ＰＣ２０２０ＨＬ０００１２３", "0123"])
def test_the_primary_borrower_finds_the_loan_by_number_or_tail(bank_db, loan_ref):
    found = lookup(CHEN, loan_ref)
    assert found.found and found.role == deferral.PRIMARY and found.loan.contract_no == HOME
    assert found.loan.co_borrowers == ("林**",) and found.loan.tail == "0123"


def test_one_phone_can_be_co_borrower_on_one_loan_and_primary_on_another(bank_db):
    assert lookup(LIN, "0123").role == deferral.CO_BORROWER
    assert lookup(LIN, "7715").role == deferral.PRIMARY
    with transaction() as session:
        roles = {loan.contract_no: loan.role for loan in deferral.loans_of(session, by_phone(session, LIN))}
    assert roles == {HOME: deferral.CO_BORROWER, "PC2023XF007715": deferral.PRIMARY}


@pytest.mark.parametrize("loan_ref", ["9999", "4521", CONSUMER, "PC2020HL000124", "12345", "尾号", ""])
def test_a_wrong_or_someone_elses_reference_is_simply_not_found(bank_db, loan_ref):
    found = lookup(CHEN, loan_ref)
    assert not found.found and found.reason == "not_found" and found.loan is None and found.candidates == ()


def test_a_tail_shared_by_two_of_the_customers_loans_asks_which(bank_db):
    with transaction() as session:
        session.add(Loan(contract_no="PC2024XF880123", product="消费贷", borrower_name="陈志明",
                         borrower_phone=CHEN, debit_day=8, next_due=date(2026, 10, 8), next_amount_fen=50000))
        session.add(Loan(contract_no="PC2021XF990123", product="消费贷", borrower_name="路人甲",
                         borrower_phone="13511112222", debit_day=8, next_due=date(2026, 10, 8), next_amount_fen=1))
    found = lookup(CHEN, "0123")
    assert not found.found and found.reason == "ambiguous"
    assert {loan.contract_no for loan in found.candidates} == {HOME, "PC2024XF880123"}
    assert lookup(CHEN, "PC2024XF880123").found


# --- applying ---------------------------------------------------------------


def test_a_co_borrower_cannot_apply(bank_db):
    result = submit(LIN, "0123", 15)
    assert not result.ok and result.reason == "co_borrower" and result.loan.borrower == "陈**"
    assert request_count() == 0


def test_applying_with_someone_elses_tail_is_not_found(bank_db):
    result = submit(HUANG, "0123", 15)
    assert not result.ok and result.reason == "not_found" and result.loan is None


@pytest.mark.parametrize(
    ("new_day", "target", "reason"),
    [(29, None, "out_of_range"), (0, None, "out_of_range"), (25, None, "same_day"),
     (28, date(2026, 11, 28), "too_far"), (20, date(2026, 10, 20), "earlier")],
)
def test_the_debit_day_rule_refusals_are_passed_through(bank_db, new_day, target, reason):
    result = submit(CHEN, HOME, new_day, target=target)
    assert not result.ok and result.reason == reason and result.request is None
    assert request_count() == 0


def test_preview_shows_the_new_due_date_without_writing(bank_db):
    with transaction() as session:
        preview = deferral.preview_change(session, by_phone(session, CHEN), "0123", 15)
    assert preview.ok and preview.current_due == date(2026, 10, 25) and preview.new_due == date(2026, 11, 15)
    assert preview.days_gained == 21 and request_count() == 0


def test_a_single_borrower_loan_is_submitted_with_nothing_missing(bank_db):
    result = submit(HUANG, "4521", 28, hardship=True, reason="  人在外地  ")
    request = result.request
    assert result.ok and result.created and request.status == RequestStatus.SUBMITTED
    assert references.pattern(ReferenceKind.DEBIT_DAY_REQUEST).fullmatch(request.reference)
    assert request.confirmations == () and request.waiting_for == deferral.WAIT_BANK
    assert request.new_due == date(2026, 10, 28) and request.reason == "人在外地" and request.hardship


def test_a_loan_with_co_borrowers_awaits_one_confirmation_each(bank_db):
    result = submit(LIU, BUSINESS, 15, reason="店里没法开门，收入受影响")
    request = result.request
    assert request.status == RequestStatus.AWAITING_CONFIRMATION and request.waiting_for == deferral.WAIT_CO_BORROWERS
    assert [(c.name, c.phone, c.status) for c in request.missing] == [
        ("刘**", "137****7001", "pending"), ("周*", "137****7002", "pending")]
    assert request.reason == "店里没法开门，收入受影响"
    with transaction() as session:
        tasks = session.execute(select(CoBorrowerConfirmation)).scalars().all()
    assert sorted((t.name, t.phone) for t in tasks) == [("刘建军", "13700137001"), ("周敏", "13700137002")]


def test_a_second_attempt_returns_the_open_request(bank_db):
    first = submit(CHEN, HOME, 15)
    again = submit(CHEN, "0123", 20)
    assert first.created and not again.created and again.ok
    assert again.request.reference == first.request.reference and again.request.requested_day == 15
    assert request_count() == 1


def test_the_database_allows_only_one_open_request_per_loan(bank_db):
    made = submit(HUANG, CONSUMER, 28)
    with transaction() as session:
        original = session.execute(select(DeferralRequest)).scalar_one()
        duplicate = DeferralRequest(
            reference="YQDUPL1X", loan_id=original.loan_id, customer_id=original.customer_id, requested_day=20,
            current_due=original.current_due, new_due=original.new_due, reason="其他", hardship=False,
            channel="rest", channel_user="x", status=RequestStatus.AWAITING_CONFIRMATION, created_at=NOW, updated_at=NOW,
            staff_note="")
        with pytest.raises(IntegrityError):
            with session.begin_nested():
                session.add(duplicate)
    assert made.request.status == RequestStatus.SUBMITTED


def test_after_a_cancel_a_new_request_can_be_made(bank_db):
    first = submit(HUANG, CONSUMER, 28)
    with transaction() as session:
        deferral.cancel_request(session, by_phone(session, HUANG), first.request.reference, NOW)
    second = submit(HUANG, CONSUMER, 20)
    assert second.created and second.request.reference != first.request.reference
    assert second.request.new_due == date(2026, 10, 20)


# --- status for the customer ------------------------------------------------


def test_requests_of_lists_every_request_with_what_is_missing(bank_db):
    business = submit(LIU, BUSINESS, 15, when=NOW)
    confirm(business.request.reference, "13700137001")
    with transaction() as session:
        [view] = deferral.requests_of(session, by_phone(session, LIU))
        assert deferral.requests_of(session, by_phone(session, HUANG)) == []
    assert view.status == RequestStatus.AWAITING_CONFIRMATION and view.waiting_for == deferral.WAIT_CO_BORROWERS
    assert [(c.name, c.phone) for c in view.missing] == [("周*", "137****7002")]
    assert view.created_at == NOW and view.created_at.tzinfo is not None


def test_requests_of_includes_decided_requests_newest_first(bank_db):
    first = submit(HUANG, CONSUMER, 28, when=NOW)
    with transaction() as session:
        review.reject(session, first.request.reference, "staff01", "本期已扣款成功，无需变更", NOW)
    second = submit(HUANG, CONSUMER, 20, when=NOW + timedelta(hours=1))
    with transaction() as session:
        views = deferral.requests_of(session, by_phone(session, HUANG))
    assert [v.reference for v in views] == [second.request.reference, first.request.reference]
    assert views[1].status == RequestStatus.REJECTED and views[1].waiting_for == "" and not views[1].is_open


# --- cancelling -------------------------------------------------------------


def test_only_the_applicant_can_cancel(bank_db):
    made = submit(CHEN, HOME, 15)
    with transaction() as session, pytest.raises(Refusal) as other:
        deferral.cancel_request(session, by_phone(session, HUANG), made.request.reference, NOW)
    assert other.value.code == "not_found"
    with transaction() as session, pytest.raises(Refusal) as co_borrower:
        deferral.cancel_request(session, by_phone(session, LIN), made.request.reference, NOW)
    assert co_borrower.value.code == "not_found"
    with transaction() as session:
        cancelled = deferral.cancel_request(session, by_phone(session, CHEN), made.request.reference.lower(), NOW)
    assert cancelled.status == RequestStatus.CANCELLED and cancelled.waiting_for == ""


def test_a_decided_request_cannot_be_cancelled(bank_db):
    made = submit(HUANG, CONSUMER, 28)
    with transaction() as session:
        review.approve(session, made.request.reference, "staff01", NOW)
    with transaction() as session, pytest.raises(Refusal) as decided:
        deferral.cancel_request(session, by_phone(session, HUANG), made.request.reference, NOW)
    assert decided.value.code == "decided"


def test_an_unknown_reference_cannot_be_cancelled(bank_db):
    with transaction() as session, pytest.raises(Refusal) as unknown:
        deferral.cancel_request(session, by_phone(session, HUANG), "YQ000000", NOW)
    assert unknown.value.code == "not_found"


# --- staff console ----------------------------------------------------------


def test_the_queue_puts_hardship_first_then_oldest(bank_db):
    oldest = submit(CHEN, HOME, 15, when=NOW)
    plain = submit(LIU, BUSINESS, 10, when=NOW + timedelta(minutes=5))
    hardship = submit(HUANG, CONSUMER, 28, hardship=True, when=NOW + timedelta(minutes=10))
    decided = submit("13600136000", "2468", 20, when=NOW - timedelta(days=1))
    with transaction() as session:
        review.reject(session, decided.request.reference, "staff01", "客户来电撤回", NOW)
        queue = review.staff_queue(session)
    assert [item.reference for item in queue] == [
        hardship.request.reference, oldest.request.reference, plain.request.reference]
    assert queue[1].borrower_phone == CHEN and queue[1].confirmations[0].phone == LIN  # staff see whom to call


def test_recording_every_confirmation_makes_the_request_ready(bank_db):
    made = submit(LIU, BUSINESS, 15)
    half = confirm(made.request.reference, "13700137001")
    assert half.status == RequestStatus.AWAITING_CONFIRMATION and not half.ready
    done = confirm(made.request.reference, "13700137002")
    assert done.status == RequestStatus.SUBMITTED and done.ready and done.waiting_for == deferral.WAIT_BANK
    assert {c.call_reference for c in done.confirmations} == {"REC-13700137001", "REC-13700137002"}
    assert all(c.recorded_by == "staff01" and c.recorded_at == NOW for c in done.confirmations)


@pytest.mark.parametrize(
    ("phone", "outcome", "call_reference", "reason"),
    [("13700137001", "maybe", "REC-1", "invalid"), ("13700137001", "confirmed", " ", "invalid"),
     ("13900139000", "confirmed", "REC-1", "not_found")],
)
def test_a_confirmation_needs_a_known_co_borrower_an_outcome_and_a_recording(bank_db, phone, outcome,
                                                                              call_reference, reason):
    made = submit(LIU, BUSINESS, 15)
    with transaction() as session, pytest.raises(Refusal) as refused:
        review.record_confirmation(session, made.request.reference, phone, outcome, call_reference,
                                     "staff01", NOW)
    assert refused.value.code == reason


def test_approval_waits_for_every_co_borrower(bank_db):
    made = submit(CHEN, HOME, 15)
    with transaction() as session, pytest.raises(Refusal) as pending:
        review.approve(session, made.request.reference, "staff01", NOW)
    assert pending.value.code == "unconfirmed"
    refused = confirm(made.request.reference, LIN, ConfirmationStatus.REFUSED)
    assert refused.waiting_for == deferral.WAIT_REFUSED and refused.status == RequestStatus.AWAITING_CONFIRMATION
    with transaction() as session, pytest.raises(Refusal) as still:
        review.approve(session, made.request.reference, "staff01", NOW)
    assert still.value.code == "unconfirmed"


def test_approval_moves_the_debit_day_and_says_where_to_notify(bank_db):
    made = submit(CHEN, HOME, 15)
    confirm(made.request.reference, LIN)
    with transaction() as session:
        decision = review.approve(session, made.request.reference, "staff01", NOW, note="已电话核实")
        loan = session.execute(select(Loan).where(Loan.contract_no == HOME)).scalar_one()
        assert (loan.debit_day, loan.next_due) == (15, date(2026, 11, 15))
    assert decision == review.Decision(
        reference=made.request.reference, outcome=RequestStatus.APPROVED, channel="wechat",
        channel_user=f"openid-{CHEN}", customer_id=customer(CHEN).id, contract_no=HOME, product="房贷",
        new_day=15, new_due=date(2026, 11, 15), note="已电话核实", decided_at=NOW, current_due=date(2026, 11, 15))
    with transaction() as session, pytest.raises(Refusal) as twice:
        review.approve(session, made.request.reference, "staff02", NOW)
    assert twice.value.code == "decided"


def test_approval_reapplies_the_rule_when_the_due_date_moved_meanwhile(bank_db):
    made = submit(HUANG, CONSUMER, 28)  # due 10 Oct -> 28 Oct
    with transaction() as session:
        loan = session.execute(select(Loan).where(Loan.contract_no == CONSUMER)).scalar_one()
        loan.next_due = date(2026, 11, 10)  # this month's payment was taken
    with transaction() as session:
        decision = review.approve(session, made.request.reference, "staff01", NOW)
    assert decision.new_due == date(2026, 11, 28)


def test_rejection_needs_a_note_and_leaves_the_loan_alone(bank_db):
    made = submit(LIU, BUSINESS, 15)
    with transaction() as session, pytest.raises(Refusal) as no_note:
        review.reject(session, made.request.reference, "staff01", "  ", NOW)
    assert no_note.value.code == "invalid"
    with transaction() as session:
        decision = review.reject(session, made.request.reference, "staff01", "共同借款人不同意变更", NOW)
        loan = session.execute(select(Loan).where(Loan.contract_no == BUSINESS)).scalar_one()
        assert (loan.debit_day, loan.next_due) == (20, date(2026, 10, 20))
    assert (decision.outcome, decision.channel, decision.channel_user) == ("rejected", "wechat", f"openid-{LIU}")
    assert decision.note == "共同借款人不同意变更" and decision.new_due is None
    with transaction() as session, pytest.raises(Refusal) as late:
        review.record_confirmation(session, made.request.reference, "13700137001", "confirmed", "R", "s", NOW)
    assert late.value.code == "decided"


def test_a_cancelled_request_cannot_be_approved(bank_db):
    made = submit(HUANG, CONSUMER, 28)
    with transaction() as session:
        deferral.cancel_request(session, by_phone(session, HUANG), made.request.reference, NOW)
    with transaction() as session, pytest.raises(Refusal) as gone:
        review.approve(session, made.request.reference, "staff01", NOW)
    assert gone.value.code == "decided"


@pytest.mark.parametrize(("name", "masked"), [("张三丰", "张**"), ("周敏", "周*"), ("欧阳娜娜", "欧***"), ("李", "*")])
def test_mask_name_keeps_the_surname(name, masked):
    assert mask_name(name) == masked


# --- the same submission delivered twice at once --------------------------------


def race_for_one_request(attempts: int = 20) -> tuple:
    """`attempts` copies of one submission (retries, double taps) arrive at once."""
    chen = customer(CHEN)

    def attempt(_: int) -> str:
        with transaction() as session:
            result = deferral.submit_request(session, chen, HOME, 15, "收入减少", True, "wechat", "o1", NOW)
        return f"{'created' if result.created else 'repeat'}:{result.request.reference}"

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        outcomes = list(pool.map(attempt, range(attempts)))
    with transaction() as session:
        rows = session.execute(select(func.count(DeferralRequest.id))).scalar_one()
        tasks = session.execute(select(func.count(CoBorrowerConfirmation.id))).scalar_one()
    return outcomes, rows, tasks


def assert_one_request(outcomes: list, rows: int, tasks: int) -> None:
    assert sum(o.startswith("created") for o in outcomes) == 1
    assert len({o.split(":")[1] for o in outcomes}) == 1
    assert rows == 1 and tasks == 1


def test_twenty_identical_submissions_make_one_request_on_sqlite(bank_db):
    assert_one_request(*race_for_one_request())


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running (.ci/run starts it)")
def test_twenty_identical_submissions_make_one_request_on_postgresql(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPLINE_DATA_DIR", str(tmp_path))
    with scratch_postgres() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        seed(today=NOW.date())
        assert_one_request(*race_for_one_request())


@pytest.mark.parametrize("today, response, told", [
    (date(2026, 10, 24), "utter_deferral_rejected", "请在这之前把钱存进还款账户"),
    (date(2026, 10, 26), "utter_deferral_rejected_past_due", "已经过了"),
])
def test_a_rejection_after_the_debit_date_does_not_ask_to_pay_before_it(today, response, told):
    """A review takes up to 3 working days; "pay before the 25th" on the 26th would be no help."""
    decision = review.Decision("D1", RequestStatus.REJECTED, "wechat", "u1", 1, "HT20260001", "个人住房贷款", 5, None,
                               "本期已扣款成功", datetime(2026, 10, 26, 9, tzinfo=SHANGHAI), date(2026, 10, 25))
    message = decision_message(decision, today)
    assert message["metadata"]["utter_action"] == response
    assert told in message["text"] and "10月25日" in message["text"] and "本期已扣款成功" in message["text"]
