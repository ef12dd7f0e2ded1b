"""Layouts on a projector (1024 x 768), a small laptop (800 px) and a wide screen (1400 px), sidebar open.

For every page and width (on a ShapeScene from Compare on, so the pages that
need ground truth show all their controls): no control's box lies outside the viewport or is
cut off by a container, and every control can be clicked (the point at its
centre belongs to it, as Playwright's own actionability check requires; a page where something
covers a control is looked at a second time after a pause, so that only what stays counts).
Screenshots land in tests/e2e/screenshots/layout-<page>-<width>.png.
"""

import pytest
from browser_helpers import BROWSER_MARKS, WAIT_MS, WIDTHS, open_page, screenshot, wait_idle

pytestmark = BROWSER_MARKS

PAGES = ("Explore", "Compare", "Prompt", "Evaluate", "Train", "Benchmark")

# The visible part of every kind of control Streamlit draws (hidden inputs are skipped).
CONTROLS = ", ".join([
    "button", "summary", "[role=slider]", "[role=tab]", "[data-baseweb=select] > div",
    "label[data-baseweb=checkbox]", "input[type=number]", "input[type=text]", "textarea",
])

# For each control: its box, the boxes of the ancestors that clip it, and what is drawn at its centre.
PROBLEMS = """([selector, width]) => {
    const problems = [];
    const describe = el => (el.innerText || el.getAttribute('aria-label') || el.tagName).trim().slice(0, 40);
    for (const el of document.querySelectorAll(selector)) {
        // Toolbars that appear on hover (plotly's, a table's, a code block's copy button, the sidebar's
        // collapse button).
        if (el.closest('.modebar, [data-testid="stSidebarCollapseButton"], [data-testid="stToolbar"], '
                       + '[data-testid="stElementToolbar"], [data-testid="stElementToolbarButton"]')) continue;
        if (el.closest('details:not([open]) > :not(summary)')) continue;  // inside a closed expander
        let rect = el.getBoundingClientRect();
        if (rect.width < 4 || rect.height < 4) continue;  // not drawn (closed tab, hidden input)
        if (rect.left < -1 || rect.right > width + 1) {
            problems.push(`${describe(el)}: x ${Math.round(rect.left)}..${Math.round(rect.right)} outside 0..${width}`);
            continue;
        }
        // Cut off by a container (hidden overflow, or a strip that scrolls without a visible scroll bar).
        for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
            if (getComputedStyle(up).overflowX === 'visible') continue;
            const clip = up.getBoundingClientRect();
            if (rect.right > clip.right + 1 || rect.left < clip.left - 1) {
                problems.push(`${describe(el)}: cut off at x ${Math.round(clip.right)} (box ends at ${Math.round(rect.right)})`);
                break;
            }
        }
        el.scrollIntoView({block: 'center', inline: 'nearest'});
        rect = el.getBoundingClientRect();
        const hit = document.elementFromPoint(rect.left + rect.width / 2, rect.top + rect.height / 2);
        if (!hit || !(hit === el || el.contains(hit) || (el.tagName === 'LABEL' && hit.closest('label') === el))) {
            problems.push(`${describe(el)}: covered by ${hit ? hit.tagName + '.' + hit.className : 'nothing'}`);
        }
    }
    return problems;
}"""


@pytest.mark.parametrize("sized_page", WIDTHS, indirect=True, ids=[f"{w}px" for w in WIDTHS])
def test_every_control_fits_and_can_be_clicked(server, sized_page):
    page, width = sized_page, sized_page.viewport_width
    open_page(page, server)
    assert page.locator('[data-testid="stSidebar"]').bounding_box()["width"] > 100, "the sidebar is open"
    found = {}
    for name in PAGES:
        if name != "Explore":
            page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=name).click()
            page.get_by_role("heading", name=name).first.wait_for(timeout=WAIT_MS)
        wait_idle(page)
        scene = page.get_by_role("button", name="Use a synthetic scene")
        if scene.count():  # Compare: a picture with ground truth shows every control (error maps, scores)
            scene.first.click()
            page.wait_for_function("() => /ShapeScene \\d+/.test(document.querySelector("
                                   "'[data-testid=stSidebar]').innerText)", timeout=WAIT_MS)
            wait_idle(page)
        page.wait_for_timeout(1000)  # plotly and images settle their sizes
        page.mouse.move(1, 1)  # a help tooltip under the resting pointer would cover what scrolls beneath it
        found[name] = page.evaluate(PROBLEMS, [CONTROLS, width])
        if any("covered by" in problem for problem in found[name]):
            # Something drawn over a control for a moment (a redraw under load, a tooltip) is looked at
            # again after a pause: only what still covers it counts.
            page.wait_for_timeout(1500)
            wait_idle(page)
            page.mouse.move(1, 1)
            found[name] = page.evaluate(PROBLEMS, [CONTROLS, width])
        page.locator('[data-testid="stMain"]').evaluate("main => main.scrollTo(0, 0)")
        screenshot(page, f"layout-{name.lower()}-{width}")
    assert not any(found.values()), found
