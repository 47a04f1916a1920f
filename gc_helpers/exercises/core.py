"""The checking machinery behind every exercise (taught from notebooks/01_policy_gradient.ipynb, §Exercises).

``check(exercise, student, reference, cases)`` calls both functions on each ``Case`` and compares the outputs
(numbers, numpy arrays, torch tensors, or tuples of them). The message names the exercise and the case, gives
expected vs got (shape first, then values) and the hint. A student function that is not written yet
(NotImplementedError), raises, returns the wrong type or shape, or runs longer than ``timeout`` seconds gets such a
message too, never a traceback from inside the checker.

Hints are graduated: ``hint`` may be a list, from "what to think about" to the equation; the n-th failed check of
an exercise in a kernel shows the first n hints. Hints are words and mathematics, never code. ``require`` tests
what the next cells need of an output (a torch tensor attached to the graph, say) and says why; ``slips`` names a
known wrong answer when the student's output matches it (a floor instead of an offset, an unmasked sum).

When ``GC_RESULTS`` names a file (``tools/grade.py`` sets it), every check also appends its outcome there as one
JSON line; what the student sees does not change.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

STRICT_ENV = "GC_CHECKS"
RESULTS_ENV = "GC_RESULTS"


class ExerciseFailed(Exception):
    """A check failed under ``GC_CHECKS=strict``; the message says which case and why."""


@dataclass(frozen=True)
class Case:
    """One input to both functions: ``name`` says what it tests ("a batch of 5 states", "an episode boundary")."""

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """What a checker returns; call it like the function later cells need (the student's if it passed)."""

    exercise: str
    passed: bool
    message: str
    fn: Callable

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self):
        return self.message


class _Timeout(Exception):
    pass


def _call_with_timeout(fn, case: Case, timeout: float):
    """fn(*case.args, **case.kwargs), interrupted after ``timeout`` s where a signal timer can be used."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return fn(*case.args, **case.kwargs)

    def on_alarm(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return fn(*case.args, **case.kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _as_numbers(value):
    """Outputs as numpy arrays (a tuple/list of outputs stays a tuple); None when they are not numbers."""
    if isinstance(value, tuple | list) and not np.isscalar(value):
        parts = tuple(_as_numbers(v) for v in value)
        return None if any(p is None for p in parts) else parts
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, bool) or value is None or isinstance(value, str | dict):
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def _short(arr: np.ndarray) -> str:
    return np.array2string(np.asarray(arr), precision=4, threshold=8, edgeitems=3, suppress_small=True)


def compare(expected, got, rtol: float = 1e-6, atol: float = 1e-8) -> str | None:
    """None if ``got`` matches ``expected``, else what differs (type, length, shape, then values)."""
    want, have = _as_numbers(expected), _as_numbers(got)
    if have is None:
        return f"expected numbers (an array or a float), got {type(got).__name__}"
    if isinstance(want, tuple):
        if not isinstance(have, tuple) or len(have) != len(want):
            n = len(have) if isinstance(have, tuple) else 1
            return f"expected a tuple of {len(want)} outputs, got {n}"
        for i, (w, h) in enumerate(zip(want, have)):
            why = compare(w, h, rtol, atol)
            if why:
                return f"output {i}: {why}"
        return None
    if isinstance(have, tuple):
        return f"expected one output of shape {want.shape}, got a tuple of {len(have)}"
    if have.shape != want.shape:
        return f"expected shape {want.shape}, got shape {have.shape}"
    if not np.all(np.isfinite(have) == np.isfinite(want)):
        return f"expected {_short(want)}, got {_short(have)} (NaN or inf where the reference has none)"
    if not np.allclose(have, want, rtol=rtol, atol=atol, equal_nan=True):
        diff = float(np.nanmax(np.abs(have - want)))
        return f"expected {_short(want)}, got {_short(have)} (largest difference {diff:.3g})"
    return None


def strict() -> bool:
    """True when ``GC_CHECKS=strict``: a failed check raises instead of printing."""
    return os.environ.get(STRICT_ENV, "").strip().lower() == "strict"


def record(exercise: str, status: str, message: str) -> None:
    """Append {"exercise", "status", "message"} as a JSON line to the file named by ``GC_RESULTS``, if set.

    ``status`` is "passed", "failed" or "not written"; the grader (tools/grade.py) reads these lines."""
    path = os.environ.get(RESULTS_ENV, "").strip()
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"exercise": exercise, "status": status, "message": message}, ensure_ascii=False) + "\n")


def _report(exercise: str, passed: bool, message: str, fn: Callable, status: str = "failed") -> CheckResult:
    result = CheckResult(exercise, passed, message, fn)
    record(exercise, "passed" if passed else status, message)
    if not passed and strict():
        raise ExerciseFailed(message)
    print(message)
    return result


_FAILURES: dict[str, int] = {}  # failed checks per exercise in this kernel: how many hints to show


def _hints_shown(exercise: str, hint) -> list[str]:
    """The hints the next failed check of ``exercise`` shows: one more each time it fails (all once used up)."""
    hints = [hint] if isinstance(hint, str) else list(hint or ())
    hints = [h for h in hints if h]
    return hints[: _FAILURES.get(exercise, 0) + 1]


def _hint_text(exercise: str, hint) -> str:
    shown = _hints_shown(exercise, hint)
    total = 1 if isinstance(hint, str) else len([h for h in (hint or ()) if h])
    if not shown:
        return ""
    lines = [f"\n  Hint: {shown[0]}"] + [f"\n  Hint {i + 2}: {h}" for i, h in enumerate(shown[1:])]
    if len(shown) < total:
        lines.append("\n  (Fix and check again: a failed check shows the next hint.)")
    return "".join(lines)


def _failure(exercise: str, why: str, hint) -> str:
    tail = _hint_text(exercise, hint)
    _FAILURES[exercise] = _FAILURES.get(exercise, 0) + 1
    return f"✗ {exercise}: {why}{tail}\n  Later cells use the package's reference instead."


def _named_slip(slips, case: Case, got, rtol: float, atol: float) -> str:
    """A line naming the slip when ``got`` matches one of the known wrong answers on ``case``, else ""."""
    for message, wrong in slips or ():
        try:
            if compare(wrong(*case.args, **case.kwargs), got, rtol, atol) is None:
                return f"\n  This is a known slip: {message}"
        except Exception:  # a slip that cannot run on this case names nothing
            continue
    return ""


def check(exercise: str, student: Callable, reference: Callable, cases, hint: str | list[str] = "",
          rtol: float = 1e-6, atol: float = 1e-8, timeout: float = 5.0, require: Callable | None = None,
          slips=()) -> CheckResult:
    """Compare ``student`` with ``reference`` on every case; print ✓ or ✗ with the first failing case.

    ``hint``: a string, or a list of graduated hints (the n-th failure shows the first n). ``require(got)``: None
    if the output is what the next cells need, else the reason it is not (checked before the values).
    ``slips``: (message, wrong_function) pairs; a failing output that matches a wrong function gets its message."""
    if not callable(student):
        return _report(exercise, False, _failure(
            exercise, f"expected a function, got {type(student).__name__}", hint), reference)
    cases = list(cases)
    for case in cases:
        expected = reference(*case.args, **case.kwargs)
        try:
            got = _call_with_timeout(student, case, timeout)
        except NotImplementedError:
            return _report(exercise, False, f"… {exercise}: not written yet (the function raises "
                           "NotImplementedError).\n  Later cells use the package's reference instead.", reference,
                           status="not written")
        except _Timeout:
            why = f"case '{case.name}': still running after {timeout:g} s (an endless loop?)"
            return _report(exercise, False, _failure(exercise, why, hint), reference)
        except Exception as err:  # the student's code raised: say where, not the checker's traceback
            why = f"case '{case.name}': your function raised {type(err).__name__}: {err}"
            return _report(exercise, False, _failure(exercise, why, hint), reference)
        why = require(got) if require is not None else None
        if why:
            return _report(exercise, False, _failure(exercise, f"case '{case.name}': {why}", hint), reference)
        why = compare(expected, got, rtol, atol)
        if why:
            why += _named_slip(slips, case, got, rtol, atol)
            return _report(exercise, False, _failure(exercise, f"case '{case.name}': {why}", hint), reference)
    return _report(exercise, True, f"✓ {exercise}: all {len(cases)} cases match the reference.", student)


def check_value(exercise: str, got, expected, hint: str | list[str] = "", rtol: float = 1e-6,
                atol: float = 1e-8) -> bool:
    """A checked number or array the student computed (not a function); prints ✓ or ✗, returns whether it matched."""
    why = compare(expected, got, rtol, atol)
    message = f"✓ {exercise}: matches." if why is None else _failure(exercise, why, hint).split("\n  Later")[0]
    record(exercise, "passed" if why is None else "failed", message)
    if why is not None and strict():
        raise ExerciseFailed(message)
    print(message)
    return why is None
