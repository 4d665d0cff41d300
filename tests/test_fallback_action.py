"""The fallback counts misses in a row and resets on any understood or answered message."""
from actions.fallback import consecutive_misses


def user(intent):
    return {"event": "user", "parse_data": {"intent": {"name": intent}}}


def bot():
    return {"event": "bot", "text": "..."}


def test_first_miss_counts_one():
    assert consecutive_misses([user("greet"), bot(), user("nlu_fallback")]) == 1


def test_two_misses_in_a_row_count_two_whatever_the_bot_said_between():
    events = [user("nlu_fallback"), bot(), {"event": "action", "name": "action_fallback"}, user("out_of_scope")]
    assert consecutive_misses(events) == 2


def test_an_understood_message_resets_the_count():
    events = [user("nlu_fallback"), bot(), user("ask_question"), bot(), user("nlu_fallback")]
    assert consecutive_misses(events) == 1


def test_no_user_messages_means_no_misses():
    assert consecutive_misses([]) == 0


def test_a_miss_the_knowledge_base_answered_is_not_a_miss():
    answered = {"event": "slot", "name": "knowledge_topic", "value": "early_repayment"}
    assert consecutive_misses([user("nlu_fallback"), answered, bot(), user("nlu_fallback")]) == 1
