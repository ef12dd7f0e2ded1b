"""Tests for seglib.datasets.shapes: determinism, ground-truth consistency, options and presets."""

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi
from skimage.color import rgb2gray
from skimage.filters import threshold_otsu

from seglib.datasets.shapes import CLASS_NAMES, DIFFICULTIES, SHAPE_TYPES, make_scene, make_scenes

CLEAN = dict(noise=0.0, blur=0.0, illumination=0.0, background_texture=0.0, object_texture=0.0, jpeg_quality=None)


def test_same_seed_same_scene_and_other_seed_other_scene():
    a, b = make_scene(5, size=96, difficulty="hard"), make_scene(5, size=96, difficulty="hard")
    for name in ("image", "semantic", "instances", "panoptic"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.params == b.params
    assert not np.array_equal(make_scene(6, size=96).image, make_scene(5, size=96).image)


def test_photometric_options_keep_the_layout():
    clean = make_scene(2, size=80, **CLEAN)
    noisy = make_scene(2, size=80, contrast=0.2, noise=0.1, blur=1.5, jpeg_quality=20)
    np.testing.assert_array_equal(clean.instances, noisy.instances)
    assert not np.array_equal(clean.image, noisy.image)


@pytest.mark.parametrize("size, shape", [(64, (64, 64)), ((40, 72), (40, 72)), (16, (16, 16))])
def test_arrays_have_the_documented_shapes_and_dtypes(size, shape):
    scene = make_scene(0, size=size)
    assert scene.image.shape == (*shape, 3) and scene.image.dtype == np.uint8
    for name in ("semantic", "instances", "panoptic"):
        assert getattr(scene, name).shape == shape and getattr(scene, name).dtype == np.int32
    assert scene.class_names == CLASS_NAMES
    assert scene.class_names[:4] == ["background", "disk", "square", "triangle"]


@pytest.mark.parametrize("seed, difficulty", [(0, "easy"), (1, "medium"), (2, "hard"), (3, "hard")])
def test_semantic_instance_and_panoptic_maps_agree(seed, difficulty):
    scene = make_scene(seed, size=128, difficulty=difficulty, n_objects=(4, 8))
    objects = scene.params["objects"]
    assert scene.n_objects == len(objects) >= 1
    np.testing.assert_array_equal(scene.semantic > 0, scene.instances > 0)
    np.testing.assert_array_equal(scene.foreground, scene.instances > 0)
    np.testing.assert_array_equal(scene.panoptic // 1000, scene.semantic)
    np.testing.assert_array_equal(scene.panoptic % 1000, scene.instances)
    assert set(np.unique(scene.instances)) == set(range(len(objects) + 1))
    for obj in objects:
        inside = scene.instances == obj["instance"]
        assert np.unique(scene.semantic[inside]).tolist() == [CLASS_NAMES.index(obj["class"])]
        assert inside.sum() == obj["visible_area"] >= 0.5 * obj["area"]


def test_image_colours_follow_the_masks_and_the_drawing_order():
    scene = make_scene(4, size=96, n_objects=6, allow_touching=True, allow_overlap=True, **CLEAN)
    background = scene.instances == 0
    assert (scene.image[background] == scene.params["background_colour"]).all()
    for obj in scene.params["objects"]:
        assert (scene.image[scene.instances == obj["instance"]] == obj["colour"]).all()


def test_contrast_is_the_luminance_step_between_objects_and_background():
    for contrast in (0.1, 0.4):
        scene = make_scene(1, size=96, contrast=contrast, **CLEAN)
        gray = rgb2gray(scene.image)
        background = np.median(gray[scene.instances == 0])
        steps = [abs(np.median(gray[scene.instances == o["instance"]]) - background) for o in scene.params["objects"]]
        assert np.mean(steps) == pytest.approx(contrast, rel=0.25)


def test_shape_types_and_object_count_are_respected():
    scene = make_scene(3, size=200, n_objects=5, shape_types=("disk", "star"))
    assert scene.n_objects == 5
    assert set(np.unique(scene.semantic)) <= {0, CLASS_NAMES.index("disk"), CLASS_NAMES.index("star")}
    empty = make_scene(3, size=32, n_objects=0)
    assert empty.n_objects == 0 and not empty.foreground.any() and not empty.panoptic.any()


def touching(scene):
    """Whether two objects meet (one's pixel in the 3 x 3 neighbourhood of another's)."""
    grown = ndi.grey_dilation(scene.instances, size=3)
    return bool(np.any((grown != scene.instances) & (scene.instances > 0)))


def test_objects_keep_apart_unless_touching_is_allowed():
    assert not any(touching(make_scene(s, size=128, n_objects=(5, 8))) for s in range(4))
    assert any(touching(make_scene(s, size=128, n_objects=(5, 8), allow_touching=True)) for s in range(4))


def test_overlap_occludes_but_keeps_half_of_every_object():
    scenes = [make_scene(s, size=96, n_objects=(6, 8), allow_touching=True, allow_overlap=True) for s in range(4)]
    objects = [o for scene in scenes for o in scene.params["objects"]]
    assert any(o["visible_area"] < o["area"] for o in objects)
    assert all(o["visible_area"] >= 0.5 * o["area"] for o in objects)
    no_overlap = make_scene(0, size=96, n_objects=(6, 8), allow_touching=True)
    assert all(o["visible_area"] == o["area"] for o in no_overlap.params["objects"])


def test_explicit_options_override_the_preset():
    scene = make_scene(0, size=48, difficulty="hard", noise=0.0)
    assert scene.params["noise"] == 0.0
    assert scene.params["blur"] == DIFFICULTIES["hard"]["blur"]
    assert make_scene(0, size=48).params["contrast"] == DIFFICULTIES["easy"]["contrast"]


def otsu_accuracy(scene):
    """Foreground accuracy of a global Otsu threshold, whichever side is the foreground."""
    gray = rgb2gray(scene.image)
    accuracy = np.mean((gray > threshold_otsu(gray)) == scene.foreground)
    return max(accuracy, 1 - accuracy)


def test_harder_presets_defeat_a_global_threshold_more():
    accuracy = {d: np.mean([otsu_accuracy(make_scene(s, size=96, difficulty=d)) for s in range(6)])
                for d in ("easy", "medium", "hard")}
    assert accuracy["easy"] > 0.97
    assert accuracy["easy"] > accuracy["medium"] > accuracy["hard"]


def test_make_scenes_takes_a_count_or_seeds():
    assert [s.params["seed"] for s in make_scenes(3, size=32)] == [0, 1, 2]
    scenes = make_scenes([7, 9], size=32, difficulty="medium")
    assert not isinstance(scenes, list)
    assert [(s.params["seed"], s.params["difficulty"]) for s in scenes] == [(7, "medium"), (9, "medium")]


@pytest.mark.parametrize("option, value", [
    ("difficulty", "extreme"), ("contrast", 0.9), ("noise", -0.1), ("blur", "big"), ("illumination", 2),
    ("background_texture", 1.5), ("polarity", "up"), ("jpeg_quality", 100), ("jpeg_quality", 50.5),
    ("jpeg_quality", (50, 60)),
    ("n_objects", (5, 2)), ("n_objects", 1000), ("radius", (1, 5)), ("radius", (10, 200)),
    ("shape_types", ("disk", "blob")), ("shape_types", ()), ("size", 8), ("size", (64, 64, 3)),
    ("allow_touching", "yes"),
])
def test_bad_options_are_refused_by_name(option, value):
    with pytest.raises(ValueError, match=rf"^{option}=.* is not allowed: expected"):
        make_scene(0, size=(64, 64) if option != "size" else value, **({option: value} if option != "size" else {}))


def test_bad_seed_and_contradictory_rules_are_refused():
    with pytest.raises(ValueError, match=r"seed=-1 is not allowed"):
        make_scene(-1)
    with pytest.raises(ValueError, match=r"allow_overlap=True with allow_touching=False"):
        make_scene(0, allow_overlap=True, allow_touching=False)


def test_every_shape_type_can_be_drawn():
    for kind in SHAPE_TYPES:
        scene = make_scene(0, size=64, n_objects=1, shape_types=(kind,), **CLEAN)
        assert scene.params["objects"][0]["class"] == kind
        assert scene.foreground.sum() == scene.params["objects"][0]["area"] > 20


def test_jpeg_quality_is_a_real_jpeg_round_trip_at_that_quality():
    plain = make_scene(1, size=64, jpeg_quality=None)
    buffer = io.BytesIO()
    Image.fromarray(plain.image).save(buffer, format="JPEG", quality=30)
    expected = np.asarray(Image.open(buffer).convert("RGB"))
    np.testing.assert_array_equal(make_scene(1, size=64, jpeg_quality=30).image, expected)
