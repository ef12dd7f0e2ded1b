"""open_dataset: layout detection, messages for wrong folders, lazy loading."""

import pickle

import pytest
from dataset_builders import make_bsds, make_folder, make_voc

import seglib.datasets.base as base
from seglib.datasets import LAYOUTS, open_dataset


def test_empty_folder_lists_what_each_layout_expects(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(ValueError, match="no dataset found") as info:
        open_dataset(tmp_path)
    message = str(info.value)
    for text in ("JPEGImages/", "SegmentationClass/", "ImageSets/Segmentation/val.txt", "instances_",
                 "groundTruth/test/", "images/", "masks/"):
        assert text in message
    assert len(LAYOUTS) == message.count("\n- ")


def test_search_stops_at_the_depth_limit(tmp_path):
    make_voc(tmp_path / "a" / "b")  # VOC2012 four levels below tmp_path
    with pytest.raises(ValueError, match="no dataset found"):
        open_dataset(tmp_path)
    assert open_dataset(tmp_path / "a").kind == "voc"


def test_not_a_folder(tmp_path):
    with pytest.raises(ValueError, match=r"`source` '.*nowhere' is not a folder; expected 'shapes'"):
        open_dataset(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="expected 'shapes' or a dataset folder path"):
        open_dataset(42)


def test_shapes_options_do_not_apply_to_folders(tmp_path):
    make_folder(tmp_path)
    with pytest.raises(ValueError, match="options difficulty only apply to source='shapes'"):
        open_dataset(tmp_path, difficulty="hard")


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_bad_n(tmp_path, n):
    with pytest.raises(ValueError, match=r"n=.* is not allowed: expected an integer >= 1 or None"):
        open_dataset("shapes", n=n)


def test_the_first_layout_found_breadth_first_wins(tmp_path):
    make_folder(tmp_path / "z")
    make_bsds(tmp_path / "a")  # deeper, although first in name order
    assert open_dataset(tmp_path).kind == "folder"


def test_opening_reads_no_pixels_and_samples_load_on_demand(tmp_path, monkeypatch):
    make_voc(tmp_path, ids=tuple(f"id{i}" for i in range(5)))
    calls = []
    original = base.load_image
    monkeypatch.setattr(base, "load_image", lambda path: calls.append(path) or original(path))
    data = open_dataset(tmp_path)
    assert calls == [] and len(data) == 5 and data.name(4) == "id4"
    assert data[-1].name == "id4" and len(calls) == 1
    assert len(pickle.dumps(data)) < 3000
    with pytest.raises(IndexError, match="index 5 is out of range for a dataset of 5 images"):
        data[5]


def test_sample_keys_change_when_a_file_changes(tmp_path):
    folder = make_voc(tmp_path, ids=("a", "b"))
    data = open_dataset(tmp_path)
    before = [data.key(0), data.key(1)]
    assert len(set(before)) == 2
    (folder / "SegmentationClass" / "b.png").write_bytes((folder / "SegmentationClass" / "a.png").read_bytes())
    assert data.key(0) == before[0] and data.key(1) != before[1]


def test_files_of_a_sample(tmp_path):
    folder = make_voc(tmp_path, ids=("a", "b"))
    data = open_dataset(tmp_path)
    assert data.image_file(1) == folder / "JPEGImages" / "b.jpg"
    assert data.truth_file(1) == ("b.png", (folder / "SegmentationClass" / "b.png").read_bytes(), None)
    shapes = open_dataset("shapes", n=1, size=32)
    assert shapes.image_file(0) is None and shapes.truth_file(0) is None
