"""benchmarks.bench_classroom's students: who they are (nothing is timed or served here)."""

import pytest

import seglib
from benchmarks.bench_classroom import CHEAP, HEAVY, SAMPLES, class_pairs, named_students
from seglib.samples import sample


def test_the_class_is_the_same_distinct_students_every_time():
    pairs = class_pairs(30)
    assert pairs == class_pairs(30) and len(set(pairs)) == 30
    assert class_pairs(5) == pairs[:5]  # a smaller class is the first students of the big one


def test_every_student_moves_a_slider_the_method_has_on_a_bundled_sample():
    # A renamed parameter or sample would leave students without a slider: the class would run
    # with fewer moves and say so only in a line under its table.
    for method, key, picture in [(m, k, s) for m, k, _ in CHEAP for s in SAMPLES] + HEAVY:
        param = next((p for p in seglib.method(method).params if p.name == key), None)
        assert param is not None and param.low is not None and param.high is not None, (method, key)
        assert sample(picture).name == picture


def test_named_students_move_the_class_slider_of_their_method():
    assert named_students("fuzzy-cmeans:astronaut, canny:ihc") == [("fuzzy-cmeans", "m", "astronaut"),
                                                                   ("canny", "sigma", "ihc")]
    assert named_students("") == []
    for wrong in ("felzenszwalb:retina", "canny:nowhere", "canny"):
        with pytest.raises(ValueError, match=f"--students item '{wrong}' is not allowed"):
            named_students(wrong)
