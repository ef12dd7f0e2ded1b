"""Panoptic segmentation: watershed splitting, the class * 1000 + instance encoding, backends, PQ on ShapeScenes."""

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi
from skimage.draw import disk, ellipse

import seglib
from seglib import cache
from seglib.datasets.shapes import CLASS_NAMES, make_scene
from seglib.deep import bundled, panoptic, zoo
from seglib.deep.checkpoints import model_metadata, save_weights
from seglib.deep.models import build_model
from seglib.metrics import PANOPTIC_DIVISOR, panoptic_quality
from seglib.result import Segmentation
from seglib.scoring import from_scene, score


def two_touching_disks(size=64, radius=12):
    mask = np.zeros((size, size), bool)
    mask[disk((32, 20), radius, shape=mask.shape)] = True
    mask[disk((32, 20 + 2 * radius - 1), radius, shape=mask.shape)] = True
    return mask


@pytest.fixture(scope="module")
def tiny_unet(tmp_path_factory):
    """Untrained tiny U-Net weights that describe themselves (no bundled weights needed)."""
    torch.manual_seed(0)
    net = build_model("unet", n_classes=len(CLASS_NAMES), width=4, depth=1).eval()
    path = tmp_path_factory.mktemp("unet") / "unet.safetensors"
    return str(save_weights(net, path, metadata=model_metadata(net, class_names=CLASS_NAMES, input_size=64)))


def check_encoding(labels, semantic=None):
    values = np.unique(labels)
    assert values.min() >= 0
    for value in values[values > 0]:
        assert value % PANOPTIC_DIVISOR >= 1, "instance numbers start at 1"
        assert ndi.label(labels == value, np.ones((3, 3)))[1] >= 1
    for c in np.unique(values[values > 0] // PANOPTIC_DIVISOR):
        numbers = sorted(v % PANOPTIC_DIVISOR for v in values if v // PANOPTIC_DIVISOR == c)
        assert numbers == list(range(1, len(numbers) + 1)), "instances numbered 1..n per class"
    if semantic is not None:
        inside = labels > 0
        np.testing.assert_array_equal(labels[inside] // PANOPTIC_DIVISOR, semantic[inside])


# ---------------------------------------------------------------- splitting

def test_touching_disks_are_split_and_one_ellipse_is_not():
    objects, distance, markers = panoptic.split_class(two_touching_disks())
    assert objects.max() == 2 and markers.max() >= 2
    assert ndi.label(two_touching_disks())[1] == 1  # connected components alone would see one object
    areas = np.bincount(objects.ravel())[1:]
    assert abs(int(areas[0]) - int(areas[1])) < 0.1 * areas.mean()
    mask = np.zeros((64, 96), bool)
    mask[ellipse(32, 48, 10, 40, shape=mask.shape)] = True
    assert panoptic.split_class(mask)[0].max() == 1
    assert distance.max() > 0 and np.all(distance[~two_touching_disks()] == 0)


def test_a_deeper_split_depth_keeps_touching_objects_together():
    assert panoptic.split_class(two_touching_disks(), split_depth=2.0)[0].max() == 2
    assert panoptic.split_class(two_touching_disks(), split_depth=12.0)[0].max() == 1


def test_empty_and_tiny_masks():
    assert panoptic.split_class(np.zeros((8, 8), bool))[0].max() == 0
    speck = np.zeros((8, 8), bool)
    speck[3, 3] = True
    assert panoptic.split_class(speck)[0][3, 3] == 1


def test_semantic_to_panoptic_encoding_and_small_segments_become_void():
    semantic = np.zeros((64, 64), np.int32)
    semantic[two_touching_disks()] = 2
    semantic[2:5, 2:5] = 3  # a 9-pixel speck
    semantic[50:62, 50:62] = 5
    labels, stages = panoptic.panoptic_from_semantic(semantic, min_area=20)
    check_encoding(labels, semantic)
    assert set(np.unique(labels)) == {0, 2001, 2002, 5001}
    assert np.all(labels[semantic == 0] == 0) and np.all(labels[2:5, 2:5] == 0)
    assert set(stages) == {"distance transform", "watershed markers"}
    kept, _ = panoptic.panoptic_from_semantic(semantic, min_area=0)
    assert 3001 in kept


def test_detections_to_panoptic_numbers_instances_per_class():
    instances = np.array([[0, 1, 2], [3, 3, 4]])
    classes = np.array([1, 18, 1, 18])
    labels = panoptic.panoptic_from_detections(instances, classes)
    assert labels.tolist() == [[0, 1001, 18001], [1002, 1002, 18002]]


def test_watershed_on_true_classes_recovers_shapescenes_objects():
    # The instance half of the hybrid on perfect semantics: touching objects of one class are split.
    ours, components = [], []
    for seed in range(8):
        scene = make_scene(seed, difficulty="medium", size=128)
        labels, _ = panoptic.panoptic_from_semantic(scene.semantic, min_area=5)
        check_encoding(labels, scene.semantic)
        ours.append(panoptic_quality(labels, scene.panoptic).pq)
        cc = np.zeros_like(scene.semantic)
        for c in np.unique(scene.semantic)[1:]:
            pieces = ndi.label(scene.semantic == c)[0]
            cc = np.where(scene.semantic == c, c * PANOPTIC_DIVISOR + pieces, cc)
        components.append(panoptic_quality(cc, scene.panoptic).pq)
    assert np.mean(ours) >= 0.95 and np.mean(ours) >= np.mean(components)


# ---------------------------------------------------------------- the method

def test_method_with_given_weights_is_panoptic_with_named_classes(tiny_unet):
    scene = make_scene(1, difficulty="easy", size=64)
    result = seglib.segment(scene.image, "panoptic", backend="bundled+watershed", weights=tiny_unet, min_area=0)
    assert result.kind == "panoptic" and result.labels.shape == (64, 64)
    assert result.class_names == CLASS_NAMES
    check_encoding(result.labels)
    assert np.all(result.labels // PANOPTIC_DIVISOR < len(CLASS_NAMES))
    for name in ("semantic classes (network)", "distance transform", "watershed markers", "class probabilities"):
        assert result.stages[name].shape == (64, 64)
    semantic = result.stages["semantic classes (network)"]
    inside = result.labels > 0
    np.testing.assert_array_equal(result.labels[inside] // PANOPTIC_DIVISOR, semantic[inside])
    assert np.all(result.labels[semantic == 0] == 0)
    for shape in [(20, 20), (20, 30, 3)]:  # gray and tiny
        assert seglib.segment(np.zeros(shape, np.uint8), "panoptic", weights=tiny_unet).labels.shape == shape[:2]


def test_moving_the_watershed_sliders_does_not_rerun_the_network(tiny_unet, monkeypatch):
    image = make_scene(2, difficulty="easy", size=64).image
    seglib.segment(image, "panoptic", backend="bundled+watershed", weights=tiny_unet)
    calls = []
    monkeypatch.setattr(bundled, "_run", lambda *a, **k: calls.append(1))
    before = cache.stats["hits"]
    seglib.segment(image, "panoptic", backend="bundled+watershed", weights=tiny_unet, split_depth=4.0, min_area=50)
    assert calls == [] and cache.stats["hits"] > before


def test_auto_uses_mask_rcnn_only_when_its_weights_are_cached(monkeypatch):
    monkeypatch.setattr(zoo, "is_cached", lambda name: False)
    assert panoptic.choose_backend("auto") == "bundled+watershed"
    monkeypatch.setattr(zoo, "is_cached", lambda name: name == "mask-rcnn")
    assert panoptic.choose_backend("auto") == "mask-rcnn"
    assert panoptic.choose_backend("auto", weights="my-unet.safetensors") == "bundled+watershed"
    assert panoptic.choose_backend("bundled+watershed") == "bundled+watershed"


def test_mask_rcnn_backend_turns_detections_into_panoptic_labels(monkeypatch):
    instances = np.zeros((10, 10), np.int32)
    instances[:4, :4], instances[5:, 5:], instances[:3, 6:] = 1, 2, 3
    found = {"instances": instances, "labels": np.array([1, 18, 1]), "scores": np.array([0.9, 0.8, 0.7]),
             "class_names": zoo.class_names("mask-rcnn")}
    fake = Segmentation(labels=instances, stages={"detected boxes": np.zeros((10, 10, 3))}, notes=["3 detections"])
    monkeypatch.setattr(zoo, "segment_instances", lambda image, **kwargs: (fake, found))
    result = seglib.segment(np.zeros((10, 10, 3)), "panoptic", backend="mask-rcnn", min_area=0)
    assert result.kind == "panoptic" and result.class_names[18] == "dog" and result.class_names[1] == "person"
    assert result.labels[0, 0] == 1001 and result.labels[9, 9] == 18001 and result.labels[0, 9] == 1002
    check_encoding(result.labels)
    assert "detected boxes" in result.stages and "3 detections" in result.notes


@pytest.mark.skipif(not bundled.weights_path("unet").is_file(),
                    reason="the bundled unet weights are not trained yet (seglib/deep/weights/unet.safetensors; "
                           "see seglib.deep.bundled.training_command('unet'))")
def test_hybrid_with_the_bundled_unet_reaches_a_sensible_pq_on_easy_scenes():
    scenes = [make_scene(seed, difficulty="easy") for seed in range(200_000, 200_004)]
    scores = [score(seglib.segment(scene.image, "panoptic", backend="bundled+watershed"), from_scene(scene))
              for scene in scenes]
    assert np.mean([s["PQ"] for s in scores]) >= 0.5
    assert all(0 <= s["PQ"] <= 1 and "mean IoU" in s for s in scores)
