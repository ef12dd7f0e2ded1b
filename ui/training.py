"""The Train page's glue: a small training set per session, chunked training that survives Stop, the result.

Training runs in the page's script with :func:`seglib.deep.train.train`,
which writes a checkpoint every few steps to a per-session folder. When
the run is interrupted (the Stop button, or any other widget, reruns the
script), the next run finds the run marked ``running``, loads the latest
checkpoint and keeps that model: a stop keeps what was learned, and
pressing Train again with the same settings resumes from it.

The finished (or stopped) model is kept in the session as safetensors bytes
with its model card; :func:`use_model` hands it to Explore and Compare as
custom weights.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, MutableMapping
from dataclasses import asdict
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import seglib
from seglib.deep import data
from seglib.deep import train as training

from seglib.deep.models import ARCHITECTURES
from seglib.registry import Param

from .params import params_widgets, set_value, widget_key
from .persist import keep, session
from .weights import set_custom_weights, store_weights

RUN_KEY = "train.run"
MODEL_KEY = "train.model"
SESSION_KEY = "train.session"
RUNS_DIR = Path(tempfile.gettempdir()) / "seglib-train"
EVAL_SCENES = 4  # held-out scenes per difficulty for the card of a model trained here
VAL_SCENES = 8
TRAIN_THREADS = 1


SCOPE = "train"
"""Widget scope of the Train page's settings (``param.train.<name>``, see :func:`ui.params.widget_key`)."""
# Measured on one CPU thread (see the README): these defaults reach a validation mIoU of 0.53-0.67 in
# 1000 steps (about a minute and a half), where 300 steps on 64 px crops of all difficulties stayed near 0.2.
SETTINGS = (
    Param("architecture", "unet", choices=tuple(ARCHITECTURES),
          help="U-Net concatenates encoder maps into the decoder; SegNet unpools with the encoder's pooling "
               "indices; DeepLabV3 uses dilated convolutions and ASPP."),
    Param("width", 8, low=4, high=16, step=2,
          help="Channels of the first layer (doubling at each level). Wider learns more but each step is slower; "
               "8 learns the shapes in a minute or two."),
    Param("depth", 3, low=1, high=4,
          help="Down-sampling levels. Deeper sees larger context (shapes, not just edges)."),
    Param("steps", 1000, low=3, high=2000, log=True,
          help="Optimisation steps (batches). A few hundred learn background vs objects; about a thousand start "
               "to name the shapes."),
    Param("batch_size", 8, low=2, high=16, help="Scenes per step. Larger gives smoother, slower steps."),
    Param("learning_rate", 5e-3, low=3e-4, high=2e-2, log=True,
          help="AdamW's peak step size (warm-up, then cosine decay). Too high diverges, too low crawls: try 2e-3 "
               "to 1e-2."),
    Param("scene_size", 96, low=64, high=256, step=32,
          help="Side (px) the 256 px scenes are shrunk to: the scale the network sees, also at inference. Smaller "
               "is faster; shapes get hard to tell apart below 96."),
    Param("crop", None, low=32, high=128, step=16, none="whole", start=64,
          help="Train on random crops of this side (whole: entire scenes): the same scale for a fraction of the "
               "cost per step, but a crop shows fewer objects, so each step teaches less."),
    Param("training_scenes", 300, low=20, high=1000, step=10,
          help="Scenes drawn once per session. More scenes generalise better; drawing them takes a few seconds."),
    Param("seed", 0, low=0, high=9, help="Fixes the initial weights, the scenes and the batch order."),
    Param("validate_every", 100, low=5, high=500, step=5,
          help="Steps between validation mIoU measurements (8 medium scenes)."),
)
"""The Train page's settings as :class:`~seglib.Param` specs: drawn, checked and kept like a method's."""
_SETTING_NAMES = {"architecture": "arch", "learning_rate": "lr", "scene_size": "image_size", "crop": "crop_size",
                  "training_scenes": "n_scenes", "validate_every": "val_every"}  # spec name -> run setting
DIFFICULTIES_KEY = "train.difficulties"
DEFAULT_DIFFICULTIES = ("easy", "medium")


def setting_key(name: str) -> str:
    """Session-state key of a run setting's widget (``"lr"``, ``"difficulties"``...)."""
    if name == "difficulties":
        return DIFFICULTIES_KEY
    spec = {v: k for k, v in _SETTING_NAMES.items()}.get(name, name)
    return widget_key(SCOPE, spec)


def controls() -> dict:
    """The training settings from :data:`SETTINGS` (plus the difficulty mix); the run's settings."""
    values = params_widgets(SETTINGS, SCOPE)
    keep(DIFFICULTIES_KEY, list(DEFAULT_DIFFICULTIES))
    difficulties = st.multiselect(
        "Difficulty mix", list(data.DIFFICULTIES), key=DIFFICULTIES_KEY, wrap=True, persist_state="session",
        help="Which ShapeScenes difficulties to train on. Easy and medium scenes learn fastest; add hard ones for "
             "long runs. Validation always uses medium scenes.")
    return run_settings(values, difficulties)


def run_settings(values: dict, difficulties) -> dict:
    """Widget values (named as :data:`SETTINGS`) -> the settings :func:`train_kwargs` and :func:`run_dir` read.

    A crop larger than the scene trains on whole scenes.
    """
    out = {_SETTING_NAMES.get(name, name): value for name, value in values.items()}
    out["crop_size"] = out["crop_size"] or 0
    if out["crop_size"] > out["image_size"]:
        out["crop_size"] = 0
    out["difficulties"] = list(difficulties)
    return out


@st.cache_resource(show_spinner="Drawing the training scenes (once per size)...", max_entries=4)
def training_set(n_scenes: int, image_size: int, difficulties: tuple[str, ...], seed: int = 0) -> dict:
    """``n_scenes`` ShapeScenes of the chosen difficulties at ``image_size`` px (shared, read-only).

    Scenes of random difficulty are drawn (:func:`seglib.deep.data.make_training_set`)
    and those of the chosen difficulties kept, so a mix of one difficulty
    draws about three times as many.
    """
    share = len(difficulties) / len(data.DIFFICULTIES)
    pool = data.make_training_set(int(np.ceil(n_scenes / share * 1.2)) if share < 1 else n_scenes, seed=seed,
                                  input_size=image_size)
    chosen = np.flatnonzero(np.isin(pool["difficulties"], difficulties))[:n_scenes]
    subset = {k: (v[chosen] if k != "class_names" else v) for k, v in pool.items()}
    for value in subset.values():
        value.setflags(write=False)
    return subset


TRAIN_ARGS = ("width", "depth", "steps", "batch_size", "lr", "seed", "image_size", "n_scenes", "val_every")
"""Page values passed to :func:`seglib.deep.train.train` as they are."""


def train_kwargs(values: dict) -> dict:
    """Keyword arguments of :func:`seglib.deep.train.train` for the page's widget values."""
    return {**{k: values[k] for k in TRAIN_ARGS}, "crop_size": values["crop_size"] or None,
            "val_scenes": VAL_SCENES}


def run_dir(values: dict, state: MutableMapping | None = None) -> Path:
    """This session's checkpoint folder for these settings."""
    state = session(state)
    if SESSION_KEY not in state:
        state[SESSION_KEY] = uuid.uuid4().hex
    digest = hashlib.blake2b(json.dumps(values, sort_keys=True).encode(), digest_size=8).hexdigest()
    return RUNS_DIR / state[SESSION_KEY] / digest


def start(values: dict, folder: Path, state: MutableMapping | None = None) -> bool:
    """Mark a run as started; return True when it resumes a stopped run of the same settings."""
    state = session(state)
    previous = state.get(RUN_KEY)
    resume = bool(previous and previous["values"] == values and previous["status"] == "stopped"
                  and (folder / training.CHECKPOINT_NAME).is_file())
    if not resume and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    state[RUN_KEY] = {"values": values, "dir": str(folder), "status": "running"}
    return resume


def train(values: dict, folder: Path, progress: Callable[[int, float, float | None], None],
          checkpoint_every: int, state: MutableMapping | None = None) -> dict:
    """Train with the page's settings, checkpointing to ``folder``; keep and return the finished model."""
    kwargs = train_kwargs(values)
    dataset = training_set(kwargs["n_scenes"], kwargs["image_size"], tuple(values["difficulties"]), kwargs["seed"])
    kwargs["n_scenes"] = len(dataset["images"])  # a one-difficulty mix may find fewer
    # One thread: a minute of training must not starve other sessions, and on a busy machine a second
    # thread competing for a core makes each step several times slower, not faster.
    model, history = training.train(values["arch"], **kwargs, progress=progress, checkpoint_dir=folder,
                                    checkpoint_every=checkpoint_every, dataset=dataset, threads=TRAIN_THREADS)
    return keep_model(model, history, "done", state)


def recover(state: MutableMapping | None = None) -> dict | None:
    """After an interrupted run: the model of its latest checkpoint, kept as ``stopped`` (None if none)."""
    import torch

    from seglib.deep.models import build_model

    state = session(state)
    run = state.get(RUN_KEY)
    if not run or run["status"] != "running":
        return None
    path = Path(run["dir"]) / training.CHECKPOINT_NAME
    if not path.is_file():
        run["status"] = "stopped"
        return None
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    settings = training.TrainSettings(**checkpoint["settings"])
    model = build_model(settings.arch, **settings.model_config(len(data.class_names())))
    model.load_state_dict(checkpoint["model"])
    model.eval()
    model.train_settings = asdict(settings) | {"difficulties": list(run["values"]["difficulties"])}
    model.class_names = data.class_names()
    return keep_model(model, list(checkpoint["history"]), "stopped", state)


def keep_model(model, history: list, status: str, state: MutableMapping | None = None) -> dict:
    """Score ``model`` on a few held-out scenes and keep it in the session as safetensors + model card."""
    from seglib.deep.checkpoints import model_metadata, state_dict_bytes

    state = session(state)
    size = model.train_settings["image_size"]
    metrics = data.evaluate_model(model, input_size=size, n_scenes=EVAL_SCENES)
    rounded = {d: {k: round(v, 4) if isinstance(v, float) else v for k, v in m.items()} for d, m in metrics.items()}
    card = training.model_card(model, history, metrics=rounded, eval_scenes=EVAL_SCENES)
    card["trained_on"] = "the dashboard's Train page"
    metadata = model_metadata(model, class_names=model.class_names, input_size=size)
    kept = {"weights": state_dict_bytes(model, metadata=metadata), "card": card, "history": history,
            "status": status, "arch": model.train_settings["arch"], "input_size": size,
            "step": history[-1]["step"] if history else 0}
    state[MODEL_KEY] = kept
    if RUN_KEY in state:
        state[RUN_KEY]["status"] = status
    return kept


def use_model(state: MutableMapping | None = None) -> Path | None:
    """Make the kept model the custom weights of its method (Explore, Compare) at its trained input size."""
    state = session(state)
    kept = state.get(MODEL_KEY)
    if not kept:
        return None
    path = store_weights(kept["weights"])
    set_custom_weights(kept["arch"], path, f"trained here ({kept['arch']}, {kept['step']} steps, "
                                           f"{kept['input_size']} px)", state, card=kept["card"])
    method = seglib.method(kept["arch"])
    if "input_size" in {p.name for p in method.params}:
        set_value(method.name, method.param("input_size"), kept["input_size"], state)
    return path


def curves(history: list, steps: int) -> tuple[go.Figure, go.Figure]:
    """Loss per step (with a running mean) and validation mIoU, as two plotly figures."""
    x = [h["step"] for h in history]
    loss = np.array([h["loss"] for h in history], dtype=float)
    window = max(1, min(25, steps // 20))
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid") if len(loss) >= window else loss[:0]
    loss_fig = go.Figure([go.Scatter(x=x, y=loss, mode="lines", name="loss", line=dict(width=1), opacity=0.4),
                          go.Scatter(x=x[window - 1:], y=smooth, mode="lines", name=f"mean of {window}",
                                     line=dict(width=2.5, color="#d62728"))])
    val = [(h["step"], h["val_miou"]) for h in history if h.get("val_miou") is not None]
    miou_fig = go.Figure([go.Scatter(x=[s for s, _ in val], y=[v for _, v in val], mode="lines+markers",
                                     name="validation mIoU")])
    for fig, title, y_title in ((loss_fig, "Training loss", "loss"),
                                (miou_fig, "Validation mIoU (medium scenes)", "mIoU")):
        fig.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=40, b=10), showlegend=fig is loss_fig,
                          legend=dict(orientation="h", y=1.0, x=1.0, xanchor="right", yanchor="bottom"))
        fig.update_xaxes(title="step", range=[0, max(steps, 1) * 1.03])  # room for the last marker
        fig.update_yaxes(title=y_title)
    miou_fig.update_yaxes(range=[0, 1])
    return loss_fig, miou_fig


def card_json(kept: dict) -> str:
    """The kept model's card as JSON text (for download)."""
    return json.dumps(kept["card"], indent=2) + "\n"
