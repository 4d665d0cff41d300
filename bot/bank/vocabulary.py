"""The bank's names as Rasa training data: lookup tables and synonyms.

The NLU learns the bank's vocabulary (branch names and aliases, districts,
bookable services and the words customers use for them) from training data
written here at training time, so a trained model carries it and the NLU
never imports the bank: `make train` runs `python -m bot.bank.vocabulary`,
which writes `data/nlu/bank_vocabulary.yml` (not committed) from the bank
profile. Each lookup table lists every phrase of one entity; each synonym
maps phrases to the canonical value forms and services use.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Tuple

from bot.bank.profile import BankProfile, load_profile
from bot.settings import ROOT

OUTPUT = ROOT / "data" / "nlu" / "bank_vocabulary.yml"


def vocabulary(profile: BankProfile) -> Dict[str, List[Tuple[str, str]]]:
    """entity -> [(phrase, canonical value)] from the bank profile."""
    branches = [
        (phrase, branch["name"])
        for branch in profile.branches
        for phrase in (branch["name"], *branch.get("aliases", []))
    ]
    claimed = {phrase for phrase, _ in branches}
    districts = sorted({(b["district"], b["district"]) for b in profile.branches})
    # "南山" alone names the branch; only an unclaimed short form means the district.
    districts += [
        (name[:-1], name) for name, _ in districts
        if name.endswith("区") and name[:-1] not in claimed
    ]
    services = [
        (phrase, service["name"])
        for service in profile.services
        for phrase in (service["name"], *service.get("synonyms", []))
    ]
    return {"branch": branches, "district": districts, "service": services}


def _examples(phrases: List[str]) -> str:
    return "".join(f"    - {phrase}\n" for phrase in phrases)


def training_data(profile: BankProfile) -> str:
    """Rasa 3.1 NLU YAML: one lookup table per entity, one synonym per canonical value."""
    parts = ["# Written by `python -m bot.bank.vocabulary` from the bank profile: do not edit.\n",
             'version: "3.1"\n', "nlu:\n"]
    for entity, entries in vocabulary(profile).items():
        parts.append(f"- lookup: {entity}\n  examples: |\n{_examples([phrase for phrase, _ in entries])}")
        by_value: Dict[str, List[str]] = {}
        for phrase, value in entries:
            if phrase != value:
                by_value.setdefault(value, []).append(phrase)
        parts += [f"- synonym: {value}\n  examples: |\n{_examples(phrases)}" for value, phrases in by_value.items()]
    return "".join(parts)


def write(path: Path = OUTPUT) -> Path:
    path.write_text(training_data(load_profile()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)}")
