import numpy as np
import pytest

from seglib import scoring, sweeps
from seglib.datasets.shapes import make_scene
from seglib.registry import Param


@pytest.fixture(scope="module")
def scene():
    return make_scene(5, size=64, difficulty="easy")


def test_sweep_values_cover_each_kind_of_param():
    assert sweeps.sweep_values(Param("t", 0.5, low=0.0, high=1.0), n=5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert sweeps.sweep_values(Param("k", 4, low=2, high=5), n=12) == [2, 3, 4, 5]
    assert sweeps.sweep_values(Param("c", "a", choices=("a", "b"))) == ["a", "b"]
    assert sweeps.sweep_values(Param("b", False)) == [False, True]
    logs = sweeps.sweep_values(Param("x", 1.0, low=0.01, high=100.0, log=True), n=5)
    np.testing.assert_allclose(logs, [0.01, 0.1, 1, 10, 100])
    odd = sweeps.sweep_values(Param("w", 15, low=3, high=21, step=2), n=4)
    assert all(v % 2 == 1 for v in odd)


def test_sensitivity_finds_the_good_threshold(scene):
    gt = scoring.from_scene(scene)
    calls = []

    def progress(done, total, message):
        calls.append((done, total))

    table = sweeps.sensitivity(scene.image, gt, "global-threshold", "threshold", [0.0, 0.5, 1.0],
                               params={"polarity": "bright"}, progress=progress)
    assert list(table["value"]) == [0.0, 0.5, 1.0]
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert table["Dice"].notna().all()
    # Threshold 1.0 keeps nothing: the worst Dice; the best value is not it.
    assert table["Dice"].iloc[2] == table["Dice"].min()
    assert sweeps.best_value(table, "Dice") != 1.0


def test_sensitivity_keeps_failed_runs_as_rows(scene):
    gt = scoring.from_scene(scene)

    def flaky(image, slug, **params):
        if params["threshold"] > 0.6:
            raise RuntimeError("boom")
        from seglib import segment
        return segment(image, slug, **params)

    table = sweeps.sensitivity(scene.image, gt, "global-threshold", "threshold", [0.4, 0.9], run=flaky)
    assert table["error"].tolist() == ["", "boom"]
    assert np.isnan(table["Dice"].iloc[1])


def test_robustness_degrades_scores(scene):
    gt = scoring.from_scene(scene)
    table = sweeps.robustness(scene.image, gt, [("otsu", {}), ("kmeans", {"n_clusters": 4})], "noise", [0.0, 1.0])
    assert len(table) == 4 and set(table["method"]) == {"otsu", "kmeans"}
    otsu = table[table["method"] == "otsu"].set_index("strength")["pixel accuracy"]
    assert otsu[0.0] > otsu[1.0]


def test_best_value_handles_missing_metric():
    import pandas as pd
    assert sweeps.best_value(pd.DataFrame({"value": [1, 2]}), "Dice") is None


def test_kmeans_sweep_on_the_default_scene_does_not_call_the_most_clusters_best():
    from ui.image_picker import DEFAULT_SCENE
    seed, difficulty, size = DEFAULT_SCENE
    scene = make_scene(seed, size=size, difficulty=difficulty)
    gt = scoring.from_scene(scene)
    table = sweeps.sensitivity(scene.image, gt, "kmeans", "n_clusters", [2, 5, 8, 16])
    # The many-to-one score is gamed: every extra cluster raises it ...
    assert sweeps.best_value(table, scoring.MANY_TO_ONE) == 16
    # ... so it never picks the best; the one-to-one score does, and 16 clusters are not it.
    ranked = sweeps.ranking_metric(scoring.MANY_TO_ONE, table.columns)
    assert ranked == scoring.ONE_TO_ONE
    assert sweeps.best_value(table, ranked) != 16
    assert sweeps.ranking_metric("boundary F1", table.columns) == "boundary F1"
