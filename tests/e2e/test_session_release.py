"""A served app releases what a session held once its browser has gone (ui.sessions on Streamlit's runtime).

The unit tests of :mod:`ui.sessions` drive the reaper with a stand-in runtime; this one runs
``streamlit run app.py`` with ``SEGDASH_RELEASE_AFTER_S=0`` and watches from outside: the
pictures a session was shown stay served while it is connected and are gone once it has
left, and the emptied server still serves a new session. It also catches a Streamlit upgrade
that moves the session manager the reaper reads.
"""

import asyncio
import time
import urllib.error
import urllib.request

import pytest

from benchmarks.streamlit_client import Session
from ui.sessions import CHECK_EVERY_S, RELEASE_ENV

pytestmark = pytest.mark.e2e
QUERY = "method=global-threshold&sample=coins"


@pytest.fixture(scope="module", autouse=True)
def release_at_once():
    """The module's server (started after this fixture) releases a session as soon as it has no connection."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(RELEASE_ENV, "0")
        yield


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def visit(server: str) -> tuple[list[str], list[int], list[str]]:
    """Open the page in a new session, read its pictures' status while connected, leave.

    Returns the pictures' addresses, their status codes and the exceptions the run showed."""

    async def go():
        session = Session(server, QUERY)
        report = await session.open(timeout=120)
        shown = [server + url for url in report.urls]
        served = [status(url) for url in shown]
        await session.close()
        return shown, served, report.exceptions

    return asyncio.run(go())


def test_the_pictures_of_a_session_that_left_are_released(server):
    shown, served, _ = visit(server)
    assert shown, "the page showed no picture"
    assert served == [200] * len(shown)
    deadline = time.monotonic() + 12 * CHECK_EVERY_S
    left = shown
    while left and time.monotonic() < deadline:
        time.sleep(1)
        left = [url for url in left if status(url) == 200]
    assert not left, f"still served after the session left: {left}"

    shown, served, exceptions = visit(server)  # the emptied server serves the next session
    assert shown and served == [200] * len(shown) and not exceptions
