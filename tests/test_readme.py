"""The README stays true: its method table and commands match the code."""

from pathlib import Path

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
