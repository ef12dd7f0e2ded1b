"""Evaluate's and Compare's charts are laid out once at 800, 1024 and 1400 px (sidebar open).

Plotly lays a figure out a second time, and draws it twice, when its tick
labels, axis titles, legend or colour bar need more room than the margins it
asked for (automargin "pushes" them). Each chart's margins as asked
(``layout.margin``) and as laid out (``_fullLayout._size``) are read in
Chromium; a side laid out more than a pixel wider than asked is a push. Compare's
linked figure is sized to its width by CSS: its rows of pictures touch at every
width. Screenshots land in tests/e2e/screenshots/chart-layout-<page>-<width>.png.
"""

import pytest
from browser_helpers import BROWSER_MARKS, MARGINS_JS, WAIT_MS, WIDTHS, open_page, screenshot, wait_idle

pytestmark = BROWSER_MARKS

# The top and bottom of every picture of the linked figure, in pixels on the page.
PICTURES = """figure => [...figure.querySelectorAll('.imagelayer image')].map(image => {
    const box = image.getBoundingClientRect();
    return [box.top, box.bottom];
})"""


def go(page, name: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=name).click()
    page.get_by_role("heading", name=name).first.wait_for(timeout=WAIT_MS)
    wait_idle(page)


def chart(page, title: str):
    """The Plotly chart whose text contains ``title``, once drawn."""
    found = page.locator('[data-testid="stPlotlyChart"]').filter(has_text=title).first
    found.wait_for(timeout=WAIT_MS)
    return found


def pushed(page) -> list:
    charts = page.evaluate(MARGINS_JS)
    assert charts, "no chart on the page"
    return [(title, asked, laid) for title, asked, laid in charts if any(out > wanted + 1 for wanted, out in zip(asked, laid))]


@pytest.mark.parametrize("sized_page", WIDTHS, indirect=True, ids=[f"{w}px" for w in WIDTHS])
def test_evaluate_and_compare_charts_are_laid_out_once(server, sized_page):
    page = sized_page
    width = page.viewport_size["width"]
    open_page(page, f"{server}/?scene=3,easy,256")  # a scene: ground truth for every score
    go(page, "Evaluate")
    for title in ("Scores", "IoU per class", "share of each true class"):
        chart(page, title)
    page.get_by_role("button", name="Sweep").click()
    chart(page, "varies")
    page.get_by_role("button", name="Degrade by").click()
    chart(page, "under noise")
    wait_idle(page)
    assert page.locator(".js-plotly-plot").count() == 5
    evaluate = pushed(page)
    page.locator('[data-testid="stMain"]').evaluate("main => main.scrollTo(0, 0)")
    screenshot(page, f"chart-layout-evaluate-{width}")

    go(page, "Compare")
    figure = page.locator('.js-plotly-plot:has(.nsewdrag[data-subplot="x2y2"])').first
    figure.wait_for(timeout=WAIT_MS)
    chart(page, "Scores")
    wait_idle(page)
    compare = pushed(page)
    pictures = sorted(figure.evaluate(PICTURES))
    screenshot(page, f"chart-layout-compare-{width}")
    assert not evaluate + compare, f"margins pushed out (title, asked, laid out): {evaluate + compare}"
    overlays = [bottom for top, bottom in pictures if top < pictures[0][0] + 2]
    errors = [top for top, _ in pictures if top > max(overlays) - 2]
    assert len(overlays) == len(errors) == 4, pictures
    assert -1 <= min(errors) - max(overlays) <= 20, f"the overlays and error maps touch: {pictures}"
