import inspect

import numpy as np
import pytest

import seglib
from seglib.registry import FAMILIES, INPUTS, KINDS, SUPPLIED, Param, register, unregister
from seglib.result import Segmentation


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


# ---------------------------------------------------------------- the method contract as data


@pytest.fixture
def toy_slug():
    """A slug free for a method registered in the test, removed afterwards."""
    slug = "toy-contract"
    yield slug
    if slug in {m.name for m in seglib.methods()}:
        unregister(slug)


def _blank(image, **_):
    return Segmentation(labels=np.zeros(image.shape[:2], np.int32))


def test_every_method_says_what_it_needs_as_data():
    for m in seglib.methods():
        assert set(m.inputs) <= set(INPUTS), m.name
        assert set(m.supplied) <= set(SUPPLIED), m.name
        takes_prompts = bool({"points", "box"} & set(m.inputs))
        assert (m.prompt_need is not None) == takes_prompts, m.name
        assert not takes_prompts or "original_shape" in m.supplied, m.name
    needs = {m.name: m.prompt_need for m in seglib.methods("interactive")}
    assert needs["grabcut"] == "box" and needs["flood-fill"] == "point" and needs["sam"] == "point or box"
    assert seglib.method("slic").supplied == ("colour_space",)
    assert seglib.method("otsu").inputs == () and seglib.method("otsu").prompts == ()


def test_every_method_function_carries_its_param_defaults_and_type_hints():
    for m in seglib.methods():
        signature = inspect.signature(m.func)
        for p in m.params:
            arg = signature.parameters[p.name]
            assert arg.default == p.default, (m.name, p.name)
            assert arg.annotation is not inspect.Parameter.empty, (m.name, p.name)
        for name in m.inputs + m.supplied:
            assert signature.parameters[name].default is None, (m.name, name)


def test_a_method_function_is_callable_directly_with_its_defaults():
    from seglib.traditional.clustering import kmeans

    image = np.zeros((12, 12, 3))
    image[:, 6:] = 1.0
    direct = kmeans(image, n_clusters=2)
    assert direct.labels.shape == (12, 12) and len(np.unique(direct.labels)) == 2
    assert inspect.signature(kmeans).parameters["seed"].default == 0


def test_registration_checks_the_function_defaults_against_the_params(toy_slug):
    def disagrees(image, *, size=3):
        return _blank(image)

    with pytest.raises(ValueError, match="size=3 as default, but its Param's default is 5"):
        register(toy_slug, title="Toy", family="region", kind="regions", description="A toy.",
                 params=(Param("size", 5, low=1, high=9, help="h"),))(disagrees)

    def missing(image):
        return _blank(image)

    with pytest.raises(ValueError, match="has no keyword argument 'size'"):
        register(toy_slug, title="Toy", family="region", kind="regions", description="A toy.",
                 params=(Param("size", 5, low=1, high=9, help="h"),))(missing)

    def no_default(image, *, size):
        return _blank(image)

    register(toy_slug, title="Toy", family="region", kind="regions", description="A toy.",
             params=(Param("size", 5, low=1, high=9, help="h"),))(no_default)
    assert inspect.signature(no_default).parameters["size"].default == 5
    assert inspect.signature(no_default).parameters["size"].annotation is int


def test_registration_rejects_unknown_inputs_and_prompts_without_original_shape(toy_slug):
    def toy(image, *, points=None, original_shape=None):
        return _blank(image)

    with pytest.raises(ValueError, match="inputs names 'clicks'"):
        register(toy_slug, title="Toy", family="interactive", kind="binary", description="A toy.",
                 inputs=("clicks",))(toy)
    with pytest.raises(ValueError, match="must list 'original_shape' in supplied"):
        register(toy_slug, title="Toy", family="interactive", kind="binary", description="A toy.",
                 inputs=("points",))(toy)
    with pytest.raises(ValueError, match="prompt_need='both' is not allowed"):
        register(toy_slug, title="Toy", family="interactive", kind="binary", description="A toy.",
                 inputs=("points",), supplied=("original_shape",), prompt_need="both")(toy)


def test_segment_validates_user_inputs_and_fills_what_it_supplies(toy_slug):
    seen = {}

    def toy(image, *, points=None, box=None, original_shape=None):
        seen.update(points=points, original_shape=original_shape)
        return _blank(image)

    register(toy_slug, title="Toy", family="interactive", kind="binary", description="A toy.",
             inputs=("points", "box"), supplied=("original_shape",))(toy)
    image = np.zeros((40, 60), np.uint8)
    seglib.segment(image, toy_slug, points=[(5, 5, 1)], working_size=32)
    assert seen == {"points": [(5, 5, 1)], "original_shape": (40, 60)}
    with pytest.raises(ValueError, match=r"points\[0\]=.*lies outside the image \(60 x 40 pixels\)"):
        seglib.segment(image, toy_slug, points=[(70, 5, 1)])
    with pytest.raises(ValueError, match=r"points\[0\]=.*label"):
        seglib.segment(image, toy_slug, points=[(5, 5, 7)])
    with pytest.raises(ValueError, match="box=.*zero area"):
        seglib.segment(image, toy_slug, box=(3, 3, 3, 9))
    with pytest.raises(ValueError, match="no parameter 'original_shape' \\(seglib.segment supplies it\\)"):
        seglib.segment(image, toy_slug, original_shape=(4, 4))
    assert seglib.method(toy_slug).prompt_need == "point or box"
    assert seglib.method(toy_slug).missing_prompt(0, False) == "at least one object point (label 1) in `points` or a box"
    assert seglib.method(toy_slug).missing_prompt(0, True) is None


def test_inputs_are_checked_for_form_without_an_image_size():
    flood = seglib.method("flood-fill")
    assert flood.resolve({"points": [(5000, 7, 1)]})["points"] == [(5000, 7, 1)]
    with pytest.raises(ValueError, match=r"points\[0\]=.*expected \(x, y, label\)"):
        flood.resolve({"points": [(1, 2)]})
    with pytest.raises(ValueError, match="weights of type list"):
        seglib.method("unet").resolve({"weights": [1, 2]})


def test_weights_and_mask_input_validators_name_what_is_allowed():
    with pytest.raises(ValueError, match="weights of type int is not allowed"):
        INPUTS["weights"].validate(3, (4, 4))
    assert INPUTS["weights"].validate("some/file.safetensors", (4, 4)) == "some/file.safetensors"
    with pytest.raises(ValueError, match="mask_input of shape \\(3,\\)"):
        INPUTS["mask_input"].validate(np.zeros(3), (4, 4))
    with pytest.raises(ValueError, match="finite"):
        INPUTS["mask_input"].validate(np.full((4, 4), np.nan), (4, 4))


def test_unregister_removes_a_method(toy_slug):
    register(toy_slug, title="Toy", family="region", kind="regions", description="A toy.")(_blank)
    assert seglib.method(toy_slug).func is _blank
    assert unregister(toy_slug).name == toy_slug
    with pytest.raises(KeyError, match="unknown method 'toy-contract'"):
        seglib.method(toy_slug)


def test_a_param_can_be_auto_or_a_number():
    p = Param("bandwidth", None, low=0.01, high=0.5, none="auto", start=0.15, help="h")
    assert p.kind == "float" and p.validate(None) is None and p.validate(0.2) == 0.2
    assert p.slider_start == 0.15 and p.type_hint == float | None
    with pytest.raises(ValueError, match=r"bandwidth=0 is not allowed: expected a number in \[0.01, 0.5\] or None \(auto\)"):
        p.validate(0)
    with pytest.raises(ValueError, match="a None default needs none="):
        Param("x", None, low=0, high=1)
    with pytest.raises(ValueError, match="needs a numeric parameter"):
        Param("c", "a", choices=("a", "b"), none="auto")
    with pytest.raises(ValueError, match="n=None is not allowed"):
        Param("n", 3, low=1, high=9).validate(None)
