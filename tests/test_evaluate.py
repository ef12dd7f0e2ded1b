"""evaluate(): grids, schedulers (threads, sync, Dask) with equal scores, caching, streaming, chunked runs."""

import json
import os
import pickle

import numpy as np
import pandas as pd
import pytest
from skimage.segmentation import find_boundaries

import seglib.evaluate as ev
from seglib import threads
from seglib.datasets import open_dataset
from seglib.datasets.base import Dataset, Sample
from seglib.io.ground_truth import GroundTruth
from seglib.scoring import score

METHODS = [("otsu", {}), ("kmeans", {"n_clusters": [2, 3]})]
METRICS = ["pixel accuracy", "mean IoU", "Dice", "IoU", "boundary F1", "adapted Rand error", "VI"]


@pytest.fixture
def shapes():
    return open_dataset("shapes", n=4, size=48)


@pytest.fixture
def counted(monkeypatch):
    """Count the segment() calls evaluate makes, by method."""
    calls = []
    original = ev.segment

    def counting(image, slug, **kwargs):
        calls.append(slug)
        return original(image, slug, **kwargs)

    monkeypatch.setattr(ev, "segment", counting)
    return calls


class ListDataset(Dataset):
    """Samples built in memory: (image, GroundTruth) pairs, or exceptions to raise when loaded."""

    kind = "list"

    def __init__(self, items):
        self.items = items
        self.notes = []

    def __len__(self):
        return len(self.items)

    def name(self, index):
        return f"item{self._index(index)}"

    def key(self, index):
        return f"list|{id(self)}|{self._index(index)}"

    def _load(self, index):
        item = self.items[index]
        if isinstance(item, Exception):
            raise item
        return Sample(item[0], item[1], self.name(index), index)


# --------------------------------------------------------------------------- grids


def test_grids_expand_into_one_config_per_point():
    configs = ev.expand_grid(["otsu", ("kmeans", {"n_clusters": range(3, 6), "spatial_weight": (0.0, 0.5)}),
                              ("otsu", {"polarity": "auto"})])  # the same run as plain otsu: dropped
    assert [c.method for c in configs] == ["otsu"] + ["kmeans"] * 6
    assert configs[1].params == {"n_clusters": 3, "spatial_weight": 0.0}
    assert configs[1].resolved["seed"] == 0  # defaults filled in
    assert configs[0].params_json == "{}" and json.loads(configs[6].params_json) == {"n_clusters": 5,
                                                                                      "spatial_weight": 0.5}
    assert configs[6].label == "kmeans (n_clusters=5, spatial_weight=0.5)"


@pytest.mark.parametrize("methods, error, match", [
    ([("nope", {})], KeyError, "unknown method 'nope'"),
    ([("kmeans", {"n_clusters": [3, 99]})], ValueError,
     r"n_clusters=99 is not allowed: expected an integer in \[2, 16\]"),
    ([("kmeans", {"colour": 1})], ValueError, "has no parameter 'colour'"),
    ([("kmeans", {"n_clusters": []})], ValueError, "the values of 'n_clusters' are an empty list"),
    ([], ValueError, "`methods` is empty"),
])
def test_bad_methods_fail_before_anything_runs(shapes, counted, methods, error, match):
    with pytest.raises(error, match=match):
        ev.evaluate(shapes, methods, cache=None)
    assert counted == []


# --------------------------------------------------------------------------- the table


def test_one_row_per_image_method_and_params(shapes):
    table = ev.evaluate(shapes, METHODS, cache=None)
    assert len(table) == 4 * 3
    assert list(table.columns[:4]) == ["image", "index", "method", "params"]
    assert list(table.columns[-2:]) == ["elapsed_s", "error"]
    assert table["image"].tolist()[:3] == ["scene-100000"] * 3 and table["index"].is_monotonic_increasing
    assert (table["error"] == "").all() and (table["elapsed_s"] > 0).all()
    otsu, kmeans = table[table.method == "otsu"], table[table.method == "kmeans"]
    assert otsu["IoU"].notna().all() and otsu["VI"].isna().all()  # binary: foreground scores
    assert kmeans["VI"].notna().all() and kmeans["IoU"].isna().all()  # regions: region scores
    assert kmeans["mean IoU (one-to-one)"].notna().all() and kmeans["Dice"].isna().all()  # no many-to-one Dice
    assert set(kmeans["params"]) == {'{"n_clusters": 2}', '{"n_clusters": 3}'}
    assert table["boundary F1"].between(0, 1).all() and otsu["Dice"].between(0, 1).all()


def test_scores_are_those_of_score_on_each_sample(shapes):
    import seglib

    table = ev.evaluate(shapes, [("kmeans", {"n_clusters": 3})], cache=None, indices=[2])
    sample = shapes[2]
    expected = score(seglib.segment(sample.image, "kmeans", n_clusters=3), sample.ground_truth)
    row = table.iloc[0]
    assert row["image"] == sample.name
    for name, value in expected.items():
        assert row[name] == pytest.approx(value)


def test_progress_reports_each_image(shapes):
    seen = []
    ev.evaluate(shapes, ["otsu"], cache=None, progress=lambda done, total, name: seen.append((done, total, name)))
    assert [s[:2] for s in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert sorted(s[2] for s in seen) == shapes.names()


def test_indices_select_samples(shapes):
    table = ev.evaluate(shapes, ["otsu"], cache=None, indices=[3, 1])
    assert table["index"].tolist() == [1, 3]
    with pytest.raises(ValueError, match=r"indices \[4\] are out of range for a dataset of 4 images"):
        ev.evaluate(shapes, ["otsu"], cache=None, indices=[0, 4])


def test_a_failing_method_or_sample_keeps_its_row_with_the_error(shapes, monkeypatch):
    original = ev.segment

    def flaky(image, slug, **kwargs):
        if slug == "kmeans":
            raise RuntimeError("no weights")
        return original(image, slug, **kwargs)

    monkeypatch.setattr(ev, "segment", flaky)
    sample = shapes[0]
    broken = ListDataset([(sample.image, sample.ground_truth), ValueError("truncated")])
    table = ev.evaluate(broken, ["otsu", "kmeans"], cache=None)
    errors = dict(zip(zip(table["index"], table["method"]), table["error"]))
    assert errors[(0, "otsu")] == "" and errors[(0, "kmeans")] == "RuntimeError: no weights"
    assert errors[(1, "otsu")] == "loading failed: ValueError: truncated"
    failed = table[table["error"] != ""]
    assert failed[["Dice", "elapsed_s"]].isna().all().all()


def test_annotators_give_best_and_mean_columns():
    truth = np.zeros((24, 32), dtype=np.int32)
    truth[6:18, 8:24] = 1
    image = np.where(truth[..., None] == 1, 220, 30).astype(np.uint8).repeat(3, axis=2)
    coarse = np.zeros_like(truth)
    coarse[2:22, 2:30] = 1
    annotators = [truth + 1, coarse + 1]
    gt = GroundTruth(regions=annotators[0], boundaries=None, annotators=annotators,
                     annotator_boundaries=[find_boundaries(a, mode="inner") for a in annotators], source_format="bsds")
    table = ev.evaluate(ListDataset([(image, gt)]), ["otsu", ("kmeans", {"n_clusters": 2})], cache=None)
    import seglib

    for _, row in table.iterrows():
        result = seglib.segment(image, row["method"], **json.loads(row["params"]))
        best = score(result, gt)
        per = [score(result, GroundTruth(regions=a, annotators=[a], annotator_boundaries=[b]))
               for a, b in zip(gt.annotators, gt.annotator_boundaries)]
        for name, value in best.items():
            assert row[name] == pytest.approx(value)
            assert row[name + ev.MEAN_SUFFIX] == pytest.approx(np.mean([p[name] for p in per]))
    assert table["boundary F1"].iloc[0] > table["boundary F1 (mean)"].iloc[0]  # one annotator disagrees


# --------------------------------------------------------------------------- schedulers


def _scores(table):
    return table.drop(columns=["elapsed_s"])


def test_threads_and_sync_give_the_same_scores(shapes):
    threads = ev.evaluate(shapes, METHODS, cache=None, max_workers=3)
    sync = ev.evaluate(shapes, METHODS, cache=None, scheduler="sync")
    pd.testing.assert_frame_equal(_scores(threads), _scores(sync))


def test_a_dask_cluster_gives_the_same_scores(shapes):
    # processes=False keeps the test fast; worker processes (processes=True) run in benchmarks/bench_evaluate.py
    distributed = pytest.importorskip("distributed")
    local = ev.evaluate(shapes, METHODS, cache=None)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        on_cluster = ev.evaluate(shapes, METHODS, cache=None, scheduler=cluster)
        by_address = ev.evaluate(shapes, METHODS, cache=None, scheduler=cluster.scheduler_address, indices=[1])
    pd.testing.assert_frame_equal(_scores(local), _scores(on_cluster))
    pd.testing.assert_frame_equal(_scores(local[local["index"] == 1]).reset_index(drop=True),
                                  _scores(by_address))


def test_tasks_in_worker_processes_run_torch_on_one_thread(monkeypatch):
    torch = pytest.importorskip("torch")
    from threadpoolctl import threadpool_info, threadpool_limits

    monkeypatch.setattr(threads, "_caps", {})

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert ev._on_worker(os.getpid(), torch.get_num_threads) == 2  # a worker thread of this process: untouched
        with threadpool_limits(limits=None):  # restores BLAS/OpenMP thread counts afterwards
            assert ev._on_worker(os.getpid() + 1, torch.get_num_threads) == 1  # a worker process of its own
            assert all(lib["num_threads"] == 1 for lib in threadpool_info()) and threads._caps[None][0] == 1
            torch.set_num_threads(2)  # something in the task raised it again: the next task lowers it
            assert ev._on_worker(os.getpid() + 1, torch.get_num_threads) == 1
    finally:
        torch.set_num_threads(before)


def test_workers_receive_a_small_dataset_and_load_the_sample_themselves(shapes):
    dataset = pickle.loads(pickle.dumps(shapes))
    configs = pickle.loads(pickle.dumps(ev.expand_grid(METHODS)))
    assert len(pickle.dumps(shapes)) < 1000
    outcomes = ev.evaluate_sample(dataset, 2, configs, 1024)
    assert len(outcomes) == 3 and all(o["error"] == "" and "boundary F1" in o["scores"] for o in outcomes)


def test_work_is_submitted_in_a_bounded_window():
    pulled, window = [], 3

    def tasks():
        for i in range(20):
            pulled.append(i)
            yield i, lambda x: x * x, i

    executor = ev._Threads(2)
    results = []
    for tag, value in ev._completed(executor, tasks(), window):
        assert len(pulled) - len(results) <= window  # never more than `window` submitted and not collected
        results.append((tag, value))
    assert sorted(results) == [(i, i * i) for i in range(20)]


# --------------------------------------------------------------------------- caching


def test_second_run_computes_nothing_and_a_new_method_only_itself(shapes, counted):
    cache = ev.MemoryCache()
    first = ev.evaluate(shapes, METHODS, cache=cache)
    assert len(counted) == 12 and first.attrs == {"computed": 12, "cached": 0}
    again = ev.evaluate(shapes, METHODS, cache=cache)
    assert len(counted) == 12 and again.attrs == {"computed": 0, "cached": 12}
    pd.testing.assert_frame_equal(first, again)
    ev.evaluate(shapes, METHODS + ["li"], cache=cache)
    assert counted[12:] == ["li"] * 4
    ev.evaluate(shapes, METHODS, cache=cache, working_size=32)  # another working size is another result
    assert len(counted) == 16 + 12


def test_disk_cache_survives_the_process(shapes, counted, tmp_path):
    first = ev.evaluate(shapes, ["otsu"], cache=tmp_path / "rows")
    assert len(counted) == 4 and len(ev.DiskCache(tmp_path / "rows")) == 4
    again = ev.evaluate(shapes, ["otsu"], cache=ev.DiskCache(tmp_path / "rows"))  # a fresh cache object
    assert len(counted) == 4
    pd.testing.assert_frame_equal(first, again)


def test_default_cache_folder_follows_the_environment(shapes, counted, tmp_path, monkeypatch):
    monkeypatch.setenv("SEGDASH_CACHE_DIR", str(tmp_path / "env"))
    assert ev.default_cache_dir() == tmp_path / "env"
    ev.evaluate(shapes, ["otsu"], indices=[0])
    assert len(ev.DiskCache(tmp_path / "env")) == 1


def test_failures_are_not_cached(shapes, monkeypatch):
    original, fail = ev.segment, [True]

    def sometimes(image, slug, **kwargs):
        if fail[0]:
            raise RuntimeError("weights are still training")
        return original(image, slug, **kwargs)

    monkeypatch.setattr(ev, "segment", sometimes)
    cache = ev.MemoryCache()
    assert (ev.evaluate(shapes, ["otsu"], cache=cache)["error"] != "").all() and len(cache) == 0
    fail[0] = False
    assert (ev.evaluate(shapes, ["otsu"], cache=cache)["error"] == "").all() and len(cache) == 4


def test_bad_cache_argument(shapes):
    with pytest.raises(ValueError, match=r"cache=3 is not allowed: expected True"):
        ev.evaluate(shapes, ["otsu"], cache=3)


# --------------------------------------------------------------------------- runs in chunks


def test_a_run_in_chunks_equals_one_evaluate(shapes):
    run = ev.Run(shapes, METHODS, chunk_size=3, cache=None)
    assert run.step() == 3 and not run.finished and run.eta_s > 0 and run.throughput > 0
    assert run.step() == 1 and run.finished
    pd.testing.assert_frame_equal(_scores(run.table()), _scores(ev.evaluate(shapes, METHODS, cache=None)))


def test_an_interrupted_run_keeps_finished_images_and_resumes(shapes, counted):
    run = ev.Run(shapes, ["otsu"], chunk_size=4, cache=None, scheduler="sync")

    class Stop(Exception):
        pass

    def stop_after_two(done, total, name):
        if done == 2:
            raise Stop  # what a Streamlit stop button does to the running script

    with pytest.raises(Stop):
        run.step(progress=stop_after_two)
    assert sorted(run.done) == [0, 1] and len(run.table()) == 2
    assert run.step() == 2 and run.finished
    assert run.table()["index"].tolist() == [0, 1, 2, 3] and len(counted) == 4


def test_run_rejects_a_bad_chunk_size(shapes):
    with pytest.raises(ValueError, match="chunk_size=0 is not allowed"):
        ev.Run(shapes, ["otsu"], chunk_size=0)


# --------------------------------------------------------------------------- summaries


def _table():
    return pd.DataFrame({
        "image": ["a", "b", "a", "b", "a", "b"], "index": [0, 1, 0, 1, 0, 1],
        "method": ["x", "x", "y", "y", "z", "z"], "params": ["{}", "{}", '{"k": 2}', '{"k": 2}', "{}", "{}"],
        "Dice": [0.9, 0.7, 0.95, np.nan, np.nan, np.nan], "VI": [1.0, 2.0, 0.5, np.nan, np.nan, np.nan],
        "elapsed_s": [0.1, 0.3, 1.0, np.nan, np.nan, np.nan], "error": ["", "", "", "boom", "boom", "boom"],
    })


def test_leaderboard_ranks_by_mean_with_spread():
    board = ev.leaderboard(_table(), "Dice")
    assert board["label"].tolist() == ["y (k=2)", "x", "z"]
    x = board.iloc[1]
    assert x["Dice mean"] == pytest.approx(0.8) and x["Dice std"] == pytest.approx(0.1)
    assert x["elapsed_s mean"] == pytest.approx(0.2) and x["images"] == 2 and x["errors"] == 0
    assert board.iloc[0]["errors"] == 1 and board.iloc[2]["images"] == 0
    assert ev.leaderboard(_table(), "VI")["label"].tolist()[:2] == ["y (k=2)", "x"]  # lower is better
    assert ev.leaderboard(_table().iloc[0:0]).empty


def test_worst_images_puts_failures_first_then_the_lowest_scores():
    table = _table()
    assert ev.worst_images(table, "x", "{}", "Dice")["image"].tolist() == ["b", "a"]
    assert ev.worst_images(table, "x", "{}", "VI", k=1)["image"].tolist() == ["b"]  # VI: higher is worse
    assert ev.worst_images(table, "y", '{"k": 2}', "Dice")["error"].tolist() == ["boom", ""]


def test_default_metric_is_the_most_widely_scored():
    table = _table()
    assert ev.default_metric(table) == "Dice"
    table["boundary F1"] = 0.5
    assert ev.default_metric(table) == "boundary F1"
    assert ev.default_metric(table.drop(columns=["Dice", "VI", "boundary F1"])) is None


def test_region_only_runs_rank_by_the_one_to_one_score_never_the_many_to_one():
    table = ev.evaluate(open_dataset("shapes", n=2, size=48), [("kmeans", {"n_clusters": [2, 3]})], cache=None)
    assert {"mean IoU (one-to-one)", "mean IoU (many-to-one)", "boundary F1"} <= set(table.columns)
    assert ev.default_metric(table) == "mean IoU (one-to-one)"
