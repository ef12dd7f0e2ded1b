"""benchmarks.bench_browser's command line: which cases exist and what the prompt case needs (nothing is timed)."""

import re

import pytest

from benchmarks.bench_browser import PROMPT_SAMPLES, parse_cases


def test_cases_are_read_in_order_with_padded_bare_apps():
    assert parse_cases(" compare, prompt ,bare+40,", presses=8) == ["compare", "prompt", "bare+40"]


@pytest.mark.parametrize("text", ["prmopt", "bare+", "bare+x"])
def test_an_unknown_case_is_named_with_the_allowed_ones(text):
    with pytest.raises(ValueError, match=re.escape(repr(text)) + " is not a case; allowed: .*prompt"):
        parse_cases(text, presses=8)


@pytest.mark.parametrize("presses", [0, len(PROMPT_SAMPLES) + 1])
def test_the_prompt_case_needs_one_new_picture_a_press(presses):
    with pytest.raises(ValueError, match=f"--presses={presses} with the prompt case"):
        parse_cases("prompt", presses=presses)
    assert parse_cases("compare", presses=presses) == ["compare"]
