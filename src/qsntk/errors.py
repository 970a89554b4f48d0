"""The one exception type for bad user input, and the checks that raise it.

Library functions raise :class:`InputError` with a one-line message that names
the offending value; the command line turns it into ``qsntk: error: …`` and
exit status 2.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class InputError(ValueError):
    """Bad input: a one-line message naming the bad value."""


def require(cond: bool, message: str) -> None:
    """Raise :class:`InputError` with ``message`` unless ``cond``."""
    if not cond:
        raise InputError(message)


def check_finite(name: str, value: Any) -> Any:
    """Return ``value`` unchanged if every entry is finite, else raise.

    Works on Python scalars and on numpy/JAX arrays (real or complex). This is
    where non-finite numbers are caught: at the point they enter the library.
    """
    if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
        if not (math.isfinite(value.real) and math.isfinite(value.imag)):
            raise InputError(f"{name} must be finite, got {value!r}")
        return value
    arr = np.asarray(value)
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(
            f"{name} must be finite, got {arr[tuple(bad)]!r} at index {tuple(int(i) for i in bad)}"
        )
    return value


def check_positive(name: str, value: float, *, strict: bool = True) -> float:
    """Check a finite real scalar is > 0 (or >= 0 with ``strict=False``)."""
    check_finite(name, value)
    ok = value > 0 if strict else value >= 0
    if not ok:
        raise InputError(f"{name} must be {'>' if strict else '>='} 0, got {value!r}")
    return value


def check_int_at_least(name: str, value: int, minimum: int) -> int:
    """Check an integer is >= ``minimum``."""
    if isinstance(value, bool) or int(value) != value:
        raise InputError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_choice(name: str, value: str, choices) -> str:
    """Check ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise InputError(f"unknown {name} {value!r}; choose from {', '.join(map(str, choices))}")
    return value
