"""The Chinese time expression table and how one case is judged.

Shared by the test suite (which requires a 98 % pass rate) and by
`make bench-nlu` (which prints the rate and the extraction time).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from bot.nlu.chinese_time import TimeMatch, extract_times, find_debit_day

CASES_FILE = Path(__file__).resolve().parents[1] / "tests" / "data" / "time_expressions.yml"


def load_cases() -> List[Dict[str, Any]]:
    with CASES_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["cases"]


def _pick(matches: List[TimeMatch], case: Dict[str, Any]) -> Optional[TimeMatch]:
    """The match a case is about: the one with ``pick`` text, else the first."""
    wanted = case.get("pick")
    for match in matches:
        if wanted is None or match.text == wanted:
            return match
    return None


def check_case(case: Dict[str, Any]) -> Tuple[bool, str]:
    """Run one case; (passed, explanation)."""
    now = datetime.fromisoformat(case["ref"])
    matches = extract_times(case["text"], now)
    found = [(m.text, m.value, m.grain) for m in matches]
    found = find_debit_day(case["text"])
    day = found[0] if found else None
    if "debit_day" in case and day != case["debit_day"]:
        return False, f"debit day {day!r}, expected {case['debit_day']!r}"
    if case.get("none"):
        return (not matches), f"expected no time, found {found}"
    match = _pick(matches, case)
    if match is None:
        return False, f"no match (found {found})"
    expected = case["range"] if "range" in case else case["value"]
    if "range" in case:
        expected = {"from": case["range"]["from"], "to": case["range"]["to"]}
    got = dict(match.value) if match.is_interval else match.value
    if got != expected or match.grain != case["grain"]:
        return False, f"got {got!r} grain {match.grain}, expected {expected!r} grain {case['grain']}"
    return True, "ok"
