"""ShapeScenes as a dataset: a fixed range of seeds at one difficulty, no files needed.

The splits follow the seeds the bundled deep models were trained on
(:mod:`seglib.deep.data`): ``train`` starts at seed 0, ``val`` at 90 000 and
``test`` (the default) at 100 000, so a benchmark never scores a model on a
scene it was trained on.
"""

from __future__ import annotations

from ..checks import check_int
from ..scoring import from_scene
from .base import Dataset, Sample
from .shapes import DIFFICULTIES, make_scene

__all__ = ["DEFAULT_N", "SPLIT_SEEDS", "ShapesDataset"]

SPLIT_SEEDS = {"train": 0, "val": 90_000, "test": 100_000}
"""First seed of each split."""

DEFAULT_N = 100
"""Scenes in a ShapeScenes dataset when ``n`` is not given."""


class ShapesDataset(Dataset):
    """Scenes ``first_seed ... first_seed + n - 1`` of :func:`~seglib.datasets.shapes.make_scene`.

    Parameters
    ----------
    n : int
        How many scenes.
    split : {"train", "val", "test"}
        Chooses the first seed (:data:`SPLIT_SEEDS`) unless ``first_seed`` is given.
    difficulty : {"easy", "medium", "hard"}
    size : int
        Pixels a side.
    first_seed : int, optional
        Overrides the split's first seed.
    """

    kind = "shapes"

    def __init__(self, n: int = DEFAULT_N, *, split: str = "test", difficulty: str = "easy", size: int = 256,
                 first_seed: int | None = None):
        if split not in SPLIT_SEEDS:
            raise ValueError(f"split={split!r} is not allowed for ShapeScenes: expected one of "
                             f"{', '.join(SPLIT_SEEDS)}")
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty={difficulty!r} is not allowed: expected one of {', '.join(DIFFICULTIES)}")
        start = SPLIT_SEEDS[split] if first_seed is None else first_seed
        start = check_int(start, "first_seed", low=0)
        make_scene(start, size=size, difficulty=difficulty, n_objects=1)  # validates size now, not per sample
        self.n, self.split, self.difficulty, self.size, self.first_seed = int(n), split, difficulty, size, start
        self.notes = []

    @property
    def title(self) -> str:
        return (f"ShapeScenes ({self.difficulty}, {self.size} px, seeds {self.first_seed}-"
                f"{self.first_seed + self.n - 1}), {self.n} images")

    def __len__(self) -> int:
        return self.n

    def seed(self, index: int) -> int:
        return self.first_seed + self._index(index)

    def name(self, index: int) -> str:
        return f"scene-{self.seed(index)}"

    def key(self, index: int) -> str:
        return f"shapes|{self.seed(index)}|{self.size}|{self.difficulty}"

    def _load(self, index: int) -> Sample:
        seed = self.seed(index)
        scene = make_scene(seed, size=self.size, difficulty=self.difficulty)
        return Sample(scene.image, from_scene(scene), self.name(index), index,
                      {"seed": seed, "difficulty": self.difficulty, "size": self.size})
