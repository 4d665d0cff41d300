"""References customers read out on the phone: digits only, the first digit names the kind."""
import pytest

from bot.bank import references
from bot.bank.masking import mask_text
from bot.bank.references import ReferenceKind


@pytest.mark.parametrize("kind", list(ReferenceKind))
def test_a_new_reference_is_eight_digits_starting_with_its_kind(kind):
    made = {references.new_reference(kind) for _ in range(200)}
    assert all(ref.isdigit() and len(ref) == 8 and ref.startswith(kind.value) for ref in made)
    assert len(made) > 190   # random, not a counter a stranger could guess


def test_a_reference_is_found_in_a_reply_but_not_inside_a_longer_number():
    found = references.pattern(ReferenceKind.BOOKING)
    assert found.search("预约成功，预约号 17304825，请记好").group(0) == "17304825"
    assert found.search("电话 13800138000") is None
    assert references.pattern(ReferenceKind.DEBIT_DAY_REQUEST).search("预约号 17304825") is None


@pytest.mark.parametrize("said", ["1730 4825", "１７３０４８２５", "1730-4825", " 17304825 "])
def test_a_reference_read_out_or_typed_with_spaces_is_the_same_reference(said):
    assert references.canonical(said) == "17304825"


def test_references_issued_with_letters_still_match_when_typed_in_lower_case():
    assert references.canonical("yy 730482") == "YY730482"


def test_a_reference_is_not_masked_as_a_personal_number_in_transcripts():
    assert "27304825" in mask_text("我的申请编号是27304825")
