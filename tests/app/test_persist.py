"""ui.persist.keep: a shared widget's value is written back before every draw."""

from ui.persist import keep


def test_keep_sets_the_default_once_and_then_rewrites_the_current_value():
    state = {}
    assert keep("size", 1024, state) == 1024 and state == {"size": 1024}
    state["size"] = 512  # the user moved the widget
    assert keep("size", 1024, state) == 512 and state["size"] == 512


def test_keep_writes_even_when_the_value_is_unchanged():
    class Recorder(dict):
        writes = 0

        def __setitem__(self, key, value):
            type(self).writes += 1
            super().__setitem__(key, value)

    state = Recorder(size=256)
    keep("size", 1024, state)
    assert Recorder.writes == 1, "Streamlit needs the write itself, not only the value"
