import threading

from seglib import progress


def test_reports_reach_the_listener_of_the_block_only():
    seen = []
    progress.report(0.1, "nobody listens")  # no listener: nothing happens
    with progress.listen(lambda fraction, text: seen.append((fraction, text))):
        progress.report(0.25, "a quarter")
        progress.report(1.5, "clipped")
        with progress.listen(lambda *_: seen.append("inner")):
            progress.report(0.5, "to the inner listener")
        progress.report(-1, "clipped too")
    progress.report(0.9, "after the block")
    assert seen == [(0.25, "a quarter"), (1.0, "clipped"), "inner", (0.0, "clipped too")]


def test_a_listener_belongs_to_its_thread():
    seen = []
    with progress.listen(lambda fraction, text: seen.append(text)):
        worker = threading.Thread(target=progress.report, args=(0.5, "another thread"))
        worker.start()
        worker.join()
        progress.report(0.5, "this thread")
    assert seen == ["this thread"]
