"""Score tables and charts shared by Compare and Evaluate: the table, its CSV, the bars.

Tables come from :mod:`seglib.comparison` (one row per method), figures from
:mod:`seglib.charts`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from seglib import charts
from seglib.scoring import HIGHER_IS_BETTER, METRIC_NAMES

from .views import PLOTLY_CONFIG

METRIC_HELP = {
    "pixel accuracy": "Share of pixels given their true class (background included, so large backgrounds "
                      "flatter it).",
    "mean IoU": "Intersection over union of each class, averaged over the classes present: the Pascal VOC score.",
    "mean IoU (one-to-one)": "Region outputs: each true segment (an object, or the background) is paired with at "
                             "most one predicted segment; extra pieces and merged objects count as errors. The "
                             "honest score for clusters and regions.",
    "mean IoU (many-to-one)": "Region outputs: every predicted segment takes the class it overlaps most, so any "
                              "number of pieces can form one class. Forgives over-segmentation: shown for "
                              "comparison, never used to pick a best setting.",
    "Dice": "2 x overlap / (predicted + true area), averaged over classes; forgives a little more than IoU.",
    "IoU": "Intersection over union of the foreground: overlap / (predicted or true area).",
    "boundary F1": "How well predicted boundaries follow true ones, within 0.75 % of the image diagonal (BSDS).",
    "PQ": "Panoptic quality: matched objects (IoU > 0.5) x their mean IoU. Needs objects, not just classes.",
    "adapted Rand error": "Disagreement on which pixel pairs belong together (0 = same partition). Lower is better.",
    "VI": "Variation of information between the partitions, in bits (0 = identical). Lower is better.",
}
"""One line per metric: what it measures (column help of the tables)."""


def csv_button(table: pd.DataFrame, file_name: str, key: str, label: str = "Table (CSV)") -> None:
    """A download button for a table as CSV (made when clicked)."""
    st.download_button(label, lambda: table.to_csv(index=False).encode("utf-8"), file_name=file_name,
                       mime="text/csv", key=key, icon=":material/download:", on_click="ignore",
                       help="Comma-separated values for a spreadsheet or pandas.")


def _column_config(table: pd.DataFrame) -> dict:
    config = {}
    for name in table.columns:
        if name in METRIC_NAMES:
            arrow = "higher is better" if HIGHER_IS_BETTER[name] else "lower is better"
            config[name] = st.column_config.NumberColumn(name, format="%.3f", help=f"{METRIC_HELP[name]} ({arrow})")
    if "time (s)" in table:
        config["time (s)"] = st.column_config.NumberColumn("time (s)", format="%.3f",
                                                           help="Wall time of the method (first, uncached run).")
    return config


def scores_table(table: pd.DataFrame) -> None:
    """The scores as a sortable table; the ``error`` column only when a row has one."""
    shown = table if table["error"].fillna("").astype(bool).any() else table.drop(columns=["error"])
    st.dataframe(shown, hide_index=True, width="stretch", column_config=_column_config(shown))
    if shown.isna().any().any():
        st.caption("*None*: the metric does not fit that kind of result (binary masks get the foreground IoU, "
                   "class maps the mean IoU over classes, region and cluster maps the one-to-one mean IoU over "
                   "true segments, edge maps only boundary F1).")


def scores_section(table: pd.DataFrame, *, key: str, file_stem: str) -> None:
    """Table, CSV download and grouped bar chart of a :func:`seglib.comparison.scores_frame` table."""
    if table.empty:
        st.info("No method produced a result to score.", icon=":material/info:")
        return
    scores_table(table)
    csv_button(table, f"{file_stem}-scores.csv", key=f"{key}.csv", label="Scores (CSV)")
    if any(m in table and table[m].notna().any() for m in METRIC_NAMES if HIGHER_IS_BETTER[m]):
        st.plotly_chart(charts.metric_bars(table, title="Scores (higher is better)"), key=f"{key}.bars",
                        config=PLOTLY_CONFIG, width="stretch")
