"""A bookmark to a page works on a freshly started server (its very first request)."""

from browser_helpers import BROWSER_MARKS, WAIT_MS, screenshot, wait_idle

pytestmark = BROWSER_MARKS


def test_first_request_to_a_page_gets_the_apps_navigation(server, page):
    # Streamlit runs a folder literally called pages/ as old-style pages until
    # app.py has run once; our pages live in app_pages/ so a bookmark works.
    page.goto(f"{server}/evaluate")
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.wait_for(timeout=WAIT_MS)
    wait_idle(page)
    links = nav.inner_text()
    assert "Explore" in links and "Benchmark" in links
    assert "app" not in links.split()
    page.get_by_role("heading", name="Evaluate").first.wait_for(timeout=WAIT_MS)
    screenshot(page, "deep-link-evaluate")
