"""Checked exercises: the student writes the core lines of a notebook's algorithm, a checker compares them with the
package's reference on random inputs and says which case failed, expected vs got, and a hint.

``core`` holds the checking machinery (``check``, ``Case``); one module per notebook (``nb02``, ``nb03`` …) holds
that notebook's checkers. A checker returns a ``CheckResult`` that can be called like the function later cells
need: the student's function if every case matched, else the reference, so a skipped or wrong exercise never
breaks the rest of the notebook. With ``GC_CHECKS=strict`` (set when the instructor notebooks run in the tests) a
failed check raises ``ExerciseFailed`` instead.
"""

from .core import Case, CheckResult, ExerciseFailed, check, check_value

__all__ = ["Case", "CheckResult", "ExerciseFailed", "check", "check_value"]
