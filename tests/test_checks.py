import numpy as np
import pytest

from seglib import checks
from seglib.checks import check_choice, check_int, check_number, is_int, is_number


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3)])
def test_python_and_numpy_integers_are_integers(value):
    assert is_int(value) and check_int(value, "n", low=1) == 3 and type(check_int(value, "n")) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 3.0, "3", None, np.float64(3)])
def test_bools_floats_and_text_are_not_integers(value):
    assert not is_int(value)
    with pytest.raises(ValueError, match=r"n=.* is not allowed: expected an integer >= 1"):
        check_int(value, "n", low=1)


def test_int_bounds_and_none():
    assert check_int(None, "size", low=16, none=True) is None
    with pytest.raises(ValueError, match=r"size=8 is not allowed: expected an integer >= 16 or None"):
        check_int(8, "size", low=16, none=True)
    with pytest.raises(ValueError, match=r"k=10 is not allowed: expected an integer in \[1, 9\]"):
        check_int(10, "k", low=1, high=9)
    with pytest.raises(ValueError, match=r"k=0 is not allowed: expected an integer <= -1"):
        check_int(0, "k", high=-1)


def test_numbers():
    assert check_number(np.float32(0.5), "x", low=0, high=1) == 0.5 and is_number(2)
    assert not is_number(True) and not is_number("1")
    with pytest.raises(ValueError, match=r"x=nan is not allowed: expected a finite number"):
        check_number(float("nan"), "x")
    assert check_number(float("inf"), "x", finite=False) == float("inf")
    with pytest.raises(ValueError, match=r"x=1.5 is not allowed: expected a finite number in \[0, 1\]"):
        check_number(1.5, "x", low=0, high=1)


def test_choice_lists_what_is_allowed():
    assert check_choice("a", "mode", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"mode='c' is not allowed: expected one of 'a', 'b'"):
        check_choice("c", "mode", ("a", "b"))


def test_a_huge_value_is_cut_short_in_the_message():
    with pytest.raises(ValueError) as error:
        check_int("x" * 10_000, "n")
    assert len(str(error.value)) < 200 and "..." in str(error.value)


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"a": ' * 50_000 + "1" + "}" * 50_000, "nested too deeply"),
    ("{not json", r"not valid JSON: .* at line 1, column 2"),
    (b"\xff\xfe{", "not UTF-8"),
    (None, "not JSON text"),
])
def test_parse_json_turns_every_fault_into_a_value_error_naming_what(text, message):
    with pytest.raises(ValueError, match=f"the thing .*{message}|the thing is {message}"):
        checks.parse_json(text, "the thing")


def test_parse_json_reads_json_text_and_bytes():
    assert checks.parse_json('{"a": [1, 2]}', "x") == {"a": [1, 2]}
    assert checks.parse_json(b'\xef\xbb\xbf[3]', "x") == [3]
