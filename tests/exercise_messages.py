"""What the exercise tests share: a check message never shows code, and its hints are graduated."""

import re

# patterns of code, not of words or mathematics: library calls, matrix/power operators, indexing, method calls,
# assignments at the start of a line, keywords
CODE = [r"\b(np|numpy|torch|pg|scipy|rng)\.\w", r"\s@\s", r"\*\*", r"\w\[[^\]]*[:,][^\]]*\]", r"\.\w+\(",
        r"(^|\n)\s*\w+\s*=\s*\S", r"\b(def|lambda|import)\b", r"(^|\n)\s*return\b"]


def code_in(message: str) -> list[str]:
    """The fragments of a check's ``message`` that look like code."""
    return [m.group(0) for pattern in CODE for m in re.finditer(pattern, message)]


def your_word(line: str) -> bool:
    """Whether ``line`` says "your" or "yours"."""
    return re.search(r"\byours?\b", line, re.I) is not None


def assert_messages_show_no_code(checker, wrong_answer, levels: int = 3) -> None:
    """At every hint level (``levels`` failures in a row), ``checker``'s message on ``wrong_answer`` shows no code,
    and only its ✗ line speaks of the student's answer: hints and slips never say "your" (an output line that does,
    without naming the reference, reads as the student's result in the executed notebooks)."""
    for _ in range(levels):
        message = checker(wrong_answer).message
        assert not code_in(message), (code_in(message), message)
        assert not any(your_word(line) for line in message.splitlines()[1:]), message


def graduated_messages(checker, wrong_answer, levels: int = 2) -> list[str]:
    """The messages of ``levels`` failed checks in a row, after asserting the first gives one hint and points to
    the next, and the second adds the second hint."""
    messages = [checker(wrong_answer).message for _ in range(levels)]
    first, second = messages[0], messages[1]
    assert "Hint:" in first and "Hint 2:" not in first and "next hint" in first, first
    assert "Hint 2:" in second, second
    return messages
