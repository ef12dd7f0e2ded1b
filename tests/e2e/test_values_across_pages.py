"""Values set by code (a share link, a preset), never touched by the user, survive a switch of page.

The case ui.persist.keep is documented for: a widget whose value code put into the session state is
drawn again on another page (the sidebar's scene controls on every page, a method's sliders shared
by Explore and Evaluate, Compare's preset values after a visit elsewhere).
"""

from browser_helpers import BROWSER_MARKS, WAIT_MS, open_page, wait_idle

pytestmark = BROWSER_MARKS


def go(page, name: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=name).click()
    page.get_by_role("heading", name=name).first.wait_for(timeout=WAIT_MS)
    wait_idle(page)


def scene_seed(page) -> str:
    sidebar = page.locator('[data-testid="stSidebar"]')
    return sidebar.locator('[data-testid="stNumberInput"]').filter(has_text="Seed").locator("input").input_value()


def slider(page, label: str) -> str:
    # the range input itself: found inside a closed expander or a tab not shown, where roles are not
    return page.locator('[data-testid="stSlider"]').filter(has_text=label).first.locator('input[type="range"]').input_value()


def test_a_scene_from_a_link_stays_on_every_page(server, page):
    open_page(page, f"{server}/?scene=7,hard,256")
    assert scene_seed(page) == "7"
    for name in ("Evaluate", "Compare", "Explore"):
        go(page, name)
        assert scene_seed(page) == "7", f"the scene seed on {name}"
        assert "ShapeScene 7 (hard, 256 px)" in page.locator('[data-testid="stSidebar"]').inner_text(), name


def test_a_parameter_from_a_link_is_the_same_on_explore_and_evaluate(server, page):
    open_page(page, f"{server}/?method=kmeans&scene=3,easy,256&p.n_clusters=7")  # a scene: Evaluate needs truth
    assert slider(page, "N clusters") == "7"
    go(page, "Evaluate")
    page.get_by_text("Parameters of the chosen methods").click()  # open the expander, then k-means' tab
    page.get_by_role("tab", name="k-means clustering").click()
    wait_idle(page)
    assert slider(page, "N clusters") == "7", "Evaluate draws Explore's k-means slider (the same key)"
    go(page, "Explore")
    assert slider(page, "N clusters") == "7"


def open_parameters(page, index: int, label: str) -> None:
    """Open Compare panel ``index``'s "Parameters" (closed, its sliders are not drawn) and wait for slider ``label``."""
    page.locator('[data-testid="stExpander"]').filter(has_text="Parameters").nth(index).locator("summary").click()
    page.locator('[data-testid="stSlider"]').filter(has_text=label).first.wait_for(timeout=WAIT_MS)
    wait_idle(page)


def test_a_preset_value_survives_a_visit_to_another_page(server, page):
    open_page(page, server)
    go(page, "Compare")  # the first visit fills the panels from the first preset, block size 151
    open_parameters(page, 1, "Block size")
    assert slider(page, "Block size") == "151"
    go(page, "Explore")
    go(page, "Compare")
    if not page.locator('[data-testid="stSlider"]').filter(has_text="Block size").count():
        open_parameters(page, 1, "Block size")
    assert slider(page, "Block size") == "151"
