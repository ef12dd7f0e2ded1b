"""The dashboard's pages, in menu order. Adding a page is one line here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """A page of the dashboard: its script under ``pages/``, menu title and icon."""

    path: str
    title: str
    icon: str
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/explore.py", "Explore", ":material/tune:", default=True),
    PageSpec("pages/compare.py", "Compare", ":material/view_column:"),
    PageSpec("pages/prompt.py", "Prompt", ":material/ads_click:"),
    PageSpec("pages/evaluate.py", "Evaluate", ":material/analytics:"),
    PageSpec("pages/train.py", "Train", ":material/model_training:"),
    PageSpec("pages/benchmark.py", "Benchmark", ":material/leaderboard:"),
)
