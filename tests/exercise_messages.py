"""What the exercise tests of notebooks 00–03 share: a check message must never show code."""

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
