"""The README stays true: its method table and commands match the code."""

from pathlib import Path

import pytest

import seglib

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_lists_every_registered_method():
    missing = [m.name for m in seglib.methods() if f"`{m.name}`" not in README]
    assert not missing, f"README's method table lacks: {missing}"


def test_readme_shows_the_two_commands():
    assert "pip install -r requirements.txt && streamlit run app.py" in README
    assert "pip install -r requirements-dev.txt && python -m pytest" in README


def test_ci_runs_the_readme_test_command():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "pip install -r requirements-dev.txt && python -m pytest" in ci


def test_ci_lints_before_testing():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "ruff check ." in ci
    assert ci.index("ruff check .") < ci.index("python -m pytest")


def test_how_to_add_a_method_example_registers_and_runs():
    import numpy as np

    import seglib
    from seglib.registry import unregister

    section = README.split("## How to add a method", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    try:
        image = np.zeros((8, 8))
        image[:, 4:] = 1.0
        assert namespace["mean_threshold"](image).labels[:, 4:].all()
        result = seglib.segment(image, "mean-threshold", offset=0.1)
        assert result.labels.sum() == 32 and "gray" in result.stages
        with pytest.raises(ValueError, match="offset=2 is not allowed"):
            seglib.segment(image, "mean-threshold", offset=2)
    finally:
        unregister("mean-threshold")
