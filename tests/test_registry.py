import pytest

import seglib
from seglib.registry import FAMILIES, KINDS, Param


def test_every_method_is_well_formed():
    methods = seglib.methods()
    assert len(methods) >= 9
    for m in methods:
        assert m.family in FAMILIES and m.kind in KINDS
        assert m.title and len(m.description.split()) >= 10, m.name
        assert m.references, m.name
        for p in m.params:
            assert p.help, f"{m.name}.{p.name} has no help text"
            assert p.validate(p.default) == p.default


def test_methods_filters_by_family():
    thresholds = seglib.methods("threshold")
    assert {"global-threshold", "otsu", "multi-otsu", "adaptive-threshold", "sauvola"} <= {m.name for m in thresholds}
    assert all(m.family == "threshold" for m in thresholds)
    with pytest.raises(ValueError, match="family='nope'"):
        seglib.methods("nope")


def test_unknown_slug_lists_valid_ones():
    with pytest.raises(KeyError, match="unknown method 'nope'.*otsu"):
        seglib.method("nope")


def test_param_kinds_and_coercion():
    assert Param("n", 3, low=1, high=9).kind == "int"
    assert Param("x", 0.5, low=0, high=1).kind == "float"
    assert Param("b", True).kind == "bool"
    assert Param("c", "a", choices=("a", "b")).kind == "choice"
    assert Param("n", 3, low=1, high=9).validate(4.0) == 4
    assert isinstance(Param("x", 0.5, low=0, high=1).validate(1), float)


@pytest.mark.parametrize(
    "spec, value, match",
    [
        (Param("n", 3, low=1, high=9), 10, r"n=10 is not allowed: expected an integer in \[1, 9\]"),
        (Param("n", 3, low=1, high=9), 2.5, "n=2.5"),
        (Param("x", 0.5, low=0, high=1), float("nan"), "x=nan"),
        (Param("x", 0.5, low=0, high=1), "0.3", "x='0.3'"),
        (Param("x", 0.5, low=0, high=1), True, "x=True"),
        (Param("c", "a", choices=("a", "b")), "z", "one of 'a', 'b'"),
        (Param("b", True), 1, "b=1"),
    ],
)
def test_param_rejects_values_outside_spec(spec, value, match):
    with pytest.raises(ValueError, match=match):
        spec.validate(value)


def test_param_spec_must_accept_its_default():
    with pytest.raises(ValueError, match="n=20"):
        Param("n", 20, low=1, high=9)
    with pytest.raises(ValueError, match="log-scale"):
        Param("x", 1.0, low=0.0, high=10.0, log=True)


def test_segment_rejects_out_of_spec_and_unknown_params(quadrant_gray):
    image, _ = quadrant_gray
    with pytest.raises(ValueError, match=r"threshold=1.5 is not allowed.*\[0.0, 1.0\]"):
        seglib.segment(image, "global-threshold", threshold=1.5)
    with pytest.raises(ValueError, match="has no parameter 'colour'"):
        seglib.segment(image, "otsu", colour="red")


def test_method_param_lookup():
    m = seglib.method("global-threshold")
    assert m.param("threshold").default == 0.5
    with pytest.raises(KeyError, match="its parameters are: threshold, polarity"):
        m.param("nope")


def test_shown_when_hides_a_parameter_unless_its_condition_holds():
    spec = Param("h", 0.1, low=0.0, high=1.0, shown_when={"markers": "local-minima"})
    assert spec.shown_when == (("markers", ("local-minima",)),)
    assert spec.is_shown({"markers": "local-minima"})
    assert not spec.is_shown({"markers": "regular-grid"})
    assert Param("x", 1, low=0, high=2).is_shown({})  # no condition: always shown
    watershed = seglib.method("watershed")
    shown = {p.name for p in watershed.params if p.is_shown(watershed.defaults())}
    assert "h" in shown and not {"min_distance", "n_markers"} & shown


def test_register_checks_shown_when_names_an_earlier_choice_and_its_values():
    mode = Param("mode", "a", choices=("a", "b"), help="x")
    with pytest.raises(ValueError, match="n.shown_when names 'mode'.*expected an earlier categorical"):
        seglib.register("bad-order", title="t", family="threshold", kind="binary", description="d",
                        params=(Param("n", 1, low=0, high=2, shown_when={"mode": "a"}), mode))
    with pytest.raises(ValueError, match="mode='c' is not allowed"):
        seglib.register("bad-value", title="t", family="threshold", kind="binary", description="d",
                        params=(mode, Param("n", 1, low=0, high=2, shown_when={"mode": ("a", "c")})))
    assert "bad-order" not in {m.name for m in seglib.methods()}
