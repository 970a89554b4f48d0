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
            got = complex(value) if isinstance(value, complex) else float(value)
            raise InputError(f"{name} must be finite, got {got!r}")
        return value
    arr = np.asarray(value)
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        got = arr[tuple(bad)].item()                  # a Python number: 'nan', not 'np.float64(nan)'
        where = "" if arr.size == 1 else f" at index {tuple(int(i) for i in bad)}"
        raise InputError(f"{name} must be finite, got {got!r}{where}")
    return value


def physical_memory_bytes() -> int | None:
    """This machine's physical memory in bytes (None where the OS does not say)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(what: str, nbytes: float, *, limit: int | None = None) -> None:
    """Refuse, in one line, a job whose arrays alone would not fit in memory.

    ``nbytes`` is a lower bound on what the job must hold at once (its parameters, its
    largest array); ``limit`` defaults to the machine's physical memory. The check is
    there so that an impossible size (a width of 10^9) is an error naming the value rather
    than an out-of-memory traceback or a process killed halfway through writing.
    """
    limit = physical_memory_bytes() if limit is None else limit
    if limit is not None and nbytes > limit:
        raise InputError(f"{what} needs at least {nbytes / 2**30:.3g} GiB, more than this "
                         f"machine's {limit / 2**30:.3g} GiB of memory")


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
