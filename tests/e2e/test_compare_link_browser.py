"""A Compare share link opened in a real browser: "SAM 2.1 vs GrabCut vs random walker on the same box".

The link is the module server's first request (as when someone opens a link
they were sent). SAM 2.1 is a small random model named by conftest's
``small_sam_weights``, so its panel runs without a download.
"""

import pytest

from browser_helpers import BROWSER_MARKS, WAIT_MS, screenshot, wait_idle

pytestmark = BROWSER_MARKS

LINK = "/compare?methods=sam2,grabcut,random-walker&sample=coins&box=40,30,220,190&points=130,110,1&p2.iterations=2"
TITLES = ("Segment Anything 2.1 (SAM 2.1)", "GrabCut (box + colour models + graph cut)", "Random walker (seeded)")


@pytest.fixture(scope="module", autouse=True)
def small_sams(small_sam_weights):
    """Autouse and module-scoped, so the weights are named before the module's server starts."""
    return small_sam_weights


def test_a_compare_link_shows_three_prompted_panels_on_its_box(server, page):
    page.goto(server + LINK)
    page.get_by_role("heading", name="Compare").wait_for(timeout=WAIT_MS)
    page.get_by_text("Results of").first.wait_for(timeout=WAIT_MS)  # below the panels: every panel has run
    wait_idle(page)
    for i, title in enumerate(TITLES, 1):
        assert title in page.get_by_role("combobox", name=f"Method {i}").input_value()
    assert page.get_by_text("Prompt for panels 1, 2, 3").is_visible()
    assert page.get_by_text("box (40, 30) - (220, 190)").is_visible()
    assert page.get_by_text("object point at (130, 110)").is_visible()
    figure_titles = page.locator(".js-plotly-plot .annotation-text").all_text_contents()
    for i, title in enumerate(TITLES, 1):
        assert any(text.startswith(f"{i}. ") and "failed" not in text for text in figure_titles), figure_titles
    assert page.locator('[data-testid="stAlert"]').filter(has_text="failed").count() == 0
    assert page.locator('[data-testid="stAlert"]').filter(has_text="Ignored").count() == 0
    share = page.locator('[data-testid="stCode"]').filter(has_text="/compare?").inner_text()
    assert "methods=sam2,grabcut,random-walker" in share and "box=40,30,220,190" in share
    assert "p2.iterations=2" in page.url and "box=40,30,220,190" in page.url
    screenshot(page, "compare-link")
