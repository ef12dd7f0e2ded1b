"""The Compare page in a real browser: panels, linked zoom, the scores table."""

from browser_helpers import BROWSER_MARKS, WAIT_MS, open_page, screenshot, wait_idle

pytestmark = BROWSER_MARKS

FIGURE = '.js-plotly-plot:has(.nsewdrag[data-subplot="x2y2"])'
RANGES = """figure => {
    const layout = figure._fullLayout;
    return Object.keys(layout).filter(k => /^[xy]axis\\d*$/.test(k)).sort()
        .map(k => [k, layout[k].range.map(v => Math.round(v * 10) / 10)]);
}"""


def open_compare(page, server):
    # Open the entry page first: a fresh server asked for /compare first would serve the bare script.
    open_page(page, server)
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Compare").click()
    page.get_by_role("heading", name="Compare").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    page.get_by_role("button", name="Use a synthetic scene").click()  # Explore left a sample without truth
    page.wait_for_selector(FIGURE, timeout=WAIT_MS)
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=WAIT_MS)
    wait_idle(page)


def drag(page, selector, start=(0.3, 0.3), end=(0.6, 0.6)):
    box = page.locator(selector).first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1], steps=8)
    page.mouse.up()
    page.wait_for_timeout(500)


def test_compare_shows_panels_scores_and_zooms_every_panel_together(server, page):
    open_compare(page, server)
    for i in range(1, 5):
        assert page.get_by_text(f"Method {i}", exact=True).is_visible()
    assert page.locator('[data-testid="stAlert"]').filter(has_text="failed").count() == 0
    table = page.locator('[data-testid="stDataFrame"]').first
    assert table.is_visible()
    screenshot(page, "compare")

    figure = page.locator(FIGURE).first
    before = dict(figure.evaluate(RANGES))
    assert before["xaxis"] == before["xaxis2"] and before["yaxis"] == before["yaxis4"]
    drag(page, f'{FIGURE} .nsewdrag[data-subplot="x3y3"]')  # zoom into the third panel
    after = dict(figure.evaluate(RANGES))
    assert after["xaxis3"] != before["xaxis3"], "the drag zoomed in"
    assert {tuple(r) for k, r in after.items() if k.startswith("xaxis")} == {tuple(after["xaxis3"])}
    assert {tuple(r) for k, r in after.items() if k.startswith("yaxis")} == {tuple(after["yaxis3"])}
    screenshot(page, "compare-zoomed")
