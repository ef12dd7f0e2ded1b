"""The Train page in a real browser: a tiny network trained, then used by Explore."""

from browser_helpers import BROWSER_MARKS, WAIT_MS, open_page, screenshot, wait_idle

pytestmark = BROWSER_MARKS

# Every one of these sliders goes to its smallest value: a network of a few hundred weights, 3 steps
# (the crop stays "whole", its default).
SMALLEST = ("Width", "Depth", "Steps", "Batch size", "Scene size", "Training scenes")


def to_smallest(page, label: str) -> str:
    """Press Home on the slider labelled ``label``; the value its thumb then shows."""
    box = page.locator('[data-testid="stSlider"]').filter(has_text=label).first
    box.get_by_role("slider").focus()
    page.keyboard.press("Home")
    wait_idle(page)
    return box.locator('[data-testid="stSliderThumbValue"]').inner_text()


def test_train_a_tiny_network_and_use_it_in_explore(server, page):
    open_page(page, server)  # the entry page first: a fresh server asked for /train would serve the bare script
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Train").click()
    page.get_by_role("heading", name="Train").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    shown = {label: to_smallest(page, label) for label in SMALLEST}
    assert shown == {"Width": "4", "Depth": "1", "Steps": "3", "Batch size": "2", "Scene size": "64",
                     "Training scenes": "20"}, shown

    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Training finished at step 3").wait_for(timeout=2 * WAIT_MS)
    wait_idle(page)
    assert page.locator(".js-plotly-plot").count() >= 2, "loss and validation curves"
    screenshot(page, "train-tiny")

    page.get_by_role("button", name="Use this model in Explore and Compare").click()
    wait_idle(page)
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Explore").click()
    page.get_by_role("heading", name="Explore").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    page.locator('[data-testid="stButtonGroup"]').filter(has_text="Threshold").get_by_text("Deep", exact=True).click()
    wait_idle(page)
    page.get_by_text("Using custom weights").first.wait_for(timeout=WAIT_MS)
    page.get_by_text("Filled overlay (semantic)").wait_for(timeout=WAIT_MS)  # U-Net's result, not the last one
    wait_idle(page)
    assert page.get_by_text("Model card of the custom weights").count() == 1
    assert page.locator('[data-testid="stAlert"]').filter(has_text="failed").count() == 0
    screenshot(page, "explore-trained-unet")
