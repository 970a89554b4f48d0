"""The checks that turn bad input into one-line errors."""

import math

import numpy as np
import pytest

from qsntk.errors import InputError, check_finite, check_memory, physical_memory_bytes


@pytest.mark.parametrize("value, message", [
    (np.float64("nan"), "tau must be finite, got nan"),          # a numpy scalar, as click gives
    (float("-inf"), "tau must be finite, got -inf"),
    (complex(1, math.nan), "tau must be finite, got (1+nanj)"),
    (np.array([np.nan]), "tau must be finite, got nan"),          # one entry: no index
    (np.array([[1.0, 2.0], [3.0, np.inf]]), "tau must be finite, got inf at index (1, 1)"),
])
def test_check_finite_names_the_value_as_a_number(value, message):
    with pytest.raises(InputError) as err:
        check_finite("tau", value)
    assert str(err.value) == message


def test_check_finite_passes_finite_values_through():
    a = np.arange(3.0)
    assert check_finite("x", a) is a and check_finite("x", 2.5) == 2.5


def test_check_memory_against_a_limit_and_the_machine():
    check_memory("small", 2**20, limit=2**30)
    with pytest.raises(InputError, match=r"^width 7 needs at least 2 GiB, more than this machine's 1 GiB"):
        check_memory("width 7", 2 * 2**30, limit=2**30)
    total = physical_memory_bytes()
    assert total is None or total > 2**26
    if total is not None:
        with pytest.raises(InputError, match="more than this machine's"):
            check_memory("everything", 2.0 * total)
