"""The core's argument checks: each error names the argument, what it must be and what it got."""

import numpy as np
import pytest

from rbmlib.validation import MemoryRequestError, check_choice, check_int, check_mask, check_memory, check_number


def test_check_int():
    assert check_int(np.int64(3), "n") == 3 and type(check_int(np.int64(3), "n")) is int
    for bad, message in [
        (0, "n must be a positive integer, got 0"),
        (True, "n must be a positive integer, got True"),
        (2.0, "n must be a positive integer, got 2.0"),
        ("3", "n must be a positive integer, got '3'"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_int(bad, "n")
    assert check_int(0, "n", low=0) == 0
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        check_int(-1, "n", low=0)
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 5\], got 6"):
        check_int(6, "k", high=5)


def test_check_number():
    assert check_number(1, "lr", low=0.0, open_low=True) == 1.0
    for bad in (0.0, -1.0, float("nan"), float("inf"), "0.1", None):
        with pytest.raises(ValueError, match="lr must be a finite number > 0.0"):
            check_number(bad, "lr", low=0.0, open_low=True)
    with pytest.raises(ValueError, match=r"p must be a finite number >= 0.0 <= 1.0, got 2"):
        check_number(2, "p", low=0.0, high=1.0)


def test_check_choice():
    assert check_choice("pt", "method", ("gibbs", "pt")) == "pt"
    with pytest.raises(ValueError, match="method must be one of 'gibbs', 'pt', got 'mcmc'"):
        check_choice("mcmc", "method", ("gibbs", "pt"))


def test_check_mask():
    m = np.arange(6) % 2 == 0
    assert check_mask(m, 6) is not None and check_mask(np.tile(m, (3, 1)), 6, rows=3).shape == (3, 6)
    with pytest.raises(TypeError, match="clamp must be a boolean mask"):
        check_mask(np.ones(6), 6, name="clamp")
    with pytest.raises(ValueError, match=r"mask must have shape \(6,\) or \(3, 6\), got \(2, 6\)"):
        check_mask(np.ones((2, 6), bool), 6, rows=3)
    with pytest.raises(ValueError, match="keep some units and drop some"):
        check_mask(np.ones(6, bool), 6, proper=True)


def test_check_memory_names_the_request_and_the_size():
    check_memory(1e3, "a small request")
    with pytest.raises(MemoryRequestError, match=r"a huge request needs 1000000.0 TB; .* of memory is available"):
        check_memory(1e18, "a huge request")
    assert issubclass(MemoryRequestError, ValueError)  # the CLI reports it as a bad argument
