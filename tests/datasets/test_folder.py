"""Plain folders: images/ with a parallel mask folder, or two folders given explicitly."""

import numpy as np
import pytest
from dataset_builders import make_folder, picture, save, square

from seglib.datasets import open_dataset


@pytest.mark.parametrize("masks, suffix", [("masks", ""), ("labels", "_mask"), ("gt", "_gt")])
def test_images_pair_with_masks_by_name(tmp_path, masks, suffix):
    make_folder(tmp_path, masks=masks, suffix=suffix)
    data = open_dataset(tmp_path)
    assert data.kind == "folder" and data.names() == ["cell01", "cell02", "cell03"]
    sample = data[2]
    np.testing.assert_array_equal(sample.ground_truth.semantic, square(2))
    np.testing.assert_array_equal(sample.image, picture(2))


def test_explicit_mask_folder(tmp_path):
    make_folder(tmp_path, masks="whatever")
    data = open_dataset(tmp_path / "images", masks=tmp_path / "whatever", n=2)
    assert data.names() == ["cell01", "cell02"]
    with pytest.raises(ValueError, match="`masks` folder .* does not exist"):
        open_dataset(tmp_path / "images", masks=tmp_path / "nowhere")


def test_split_subfolders(tmp_path):
    make_folder(tmp_path / "x", names=("a",))
    (tmp_path / "images").mkdir()
    (tmp_path / "x" / "images").rename(tmp_path / "images" / "val")
    (tmp_path / "masks").mkdir()
    (tmp_path / "x" / "masks").rename(tmp_path / "masks" / "val")
    assert open_dataset(tmp_path, split="val").names() == ["a"]


def test_images_without_masks(tmp_path):
    make_folder(tmp_path, names=("a", "b"))
    save(tmp_path / "images" / "c.png", picture(0))
    data = open_dataset(tmp_path)
    assert data.names() == ["a", "b"] and "1 image(s) without a mask" in data.notes[0]
    for path in (tmp_path / "masks").iterdir():
        path.unlink()
    with pytest.raises(ValueError, match="none of the 3 pictures .* has a mask of the same name"):
        open_dataset(tmp_path)


def test_images_folder_alone_asks_for_masks(tmp_path):
    save(tmp_path / "images" / "a.png", picture(0))
    with pytest.raises(ValueError, match=r"looks like a plain images \+ masks folder but lacks masks/ \(or labels/"):
        open_dataset(tmp_path)


def test_mask_of_another_size_is_rescaled_or_refused(tmp_path):
    make_folder(tmp_path, names=("a", "b"))
    save(tmp_path / "masks" / "a.png", np.kron(square(0), np.ones((2, 2), np.uint8)) * 255)  # twice the size
    save(tmp_path / "masks" / "b.png", np.zeros((10, 40), np.uint8))
    data = open_dataset(tmp_path)
    np.testing.assert_array_equal(data[0].ground_truth.semantic, square(0))
    with pytest.raises(ValueError, match=r"sample 'b': the image is 32 x 24 but its ground truth is 40 x 10"):
        data[1]
