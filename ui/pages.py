"""The dashboard's pages, in menu order. Adding a page is one line here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """A page of the dashboard: its script under ``app_pages/``, menu title and icon."""

    path: str
    title: str
    icon: str
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("app_pages/explore.py", "Explore", ":material/tune:", default=True),
    PageSpec("app_pages/compare.py", "Compare", ":material/view_column:"),
    PageSpec("app_pages/prompt.py", "Prompt", ":material/ads_click:"),
    PageSpec("app_pages/evaluate.py", "Evaluate", ":material/analytics:"),
    PageSpec("app_pages/train.py", "Train", ":material/model_training:"),
    PageSpec("app_pages/benchmark.py", "Benchmark", ":material/leaderboard:"),
)
