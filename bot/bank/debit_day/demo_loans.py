"""Load the demo loans (bot/bank/demo_loans.yml) into the bank database.

Loans are upserted by contract number and their co-borrowers by phone, so
running the seed again resets the demo loans without duplicating them.
Deferral requests and their confirmation tasks are never touched: they copy
what they need (dates, names, phones) when they are made.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.bank.debit_day.rules import next_due_on_day
from bot.bank.models import CoBorrower, Loan

DEMO_LOANS_PATH = Path(__file__).with_name("demo_loans.yml")


def load_demo_loans(path: Optional[Path] = None) -> List[Dict[str, Any]]:
    """The loan entries of the demo file."""
    raw = yaml.safe_load((path or DEMO_LOANS_PATH).read_text(encoding="utf-8"))
    return list(raw.get("loans", []))


def first_due_after(today: date, debit_day: int) -> date:
    """The first date on the debit day after today, so a demo payment is always ahead."""
    return next_due_on_day(today + timedelta(days=1), debit_day)


def _fen(amount: Any) -> int:
    """"6842.37" -> 684237, exactly (no float on the way)."""
    return int((Decimal(str(amount)) * 100).to_integral_value())


def _sync_co_borrowers(loan: Loan, listed: List[Dict[str, Any]]) -> None:
    """Make the loan's co-borrowers exactly those listed (matched by phone)."""
    wanted = {str(person["phone"]): person["name"] for person in listed}
    for co_borrower in list(loan.co_borrowers):
        if co_borrower.phone not in wanted:
            loan.co_borrowers.remove(co_borrower)
    known = {co_borrower.phone: co_borrower for co_borrower in loan.co_borrowers}
    for phone, name in wanted.items():
        if phone in known:
            known[phone].name = name
        else:
            loan.co_borrowers.append(CoBorrower(name=name, phone=phone))


def _upsert_loan(session: Session, data: Dict[str, Any], today: date) -> Loan:
    contract_no = str(data["contract_no"]).upper()
    loan = session.execute(select(Loan).where(Loan.contract_no == contract_no)).scalar_one_or_none()
    if loan is None:
        loan = Loan(contract_no=contract_no)
        session.add(loan)
    loan.product = data["product"]
    loan.borrower_name = data["borrower"]["name"]
    loan.borrower_phone = str(data["borrower"]["phone"])
    loan.debit_day = int(data["debit_day"])
    loan.next_due = first_due_after(today, loan.debit_day)
    loan.next_amount_fen = _fen(data["next_amount"])
    loan.status = data.get("status", "active")
    _sync_co_borrowers(loan, data.get("co_borrowers") or [])
    return loan


def seed_loans(session: Session, today: date, path: Optional[Path] = None) -> int:
    """Upsert the demo loans with due dates relative to `today`; returns how many."""
    entries = load_demo_loans(path)
    for data in entries:
        _upsert_loan(session, data, today)
    session.flush()
    return len(entries)
