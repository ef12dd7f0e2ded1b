"""Train: teach a small network on ShapeScenes, watch it learn, then use it in Explore and Compare.

Thin page: read widgets, call seglib.deep.train through ui.training, draw.
"""

import streamlit as st

from seglib.deep import data
from seglib.deep.models import ARCHITECTURES
from seglib.progress import report
from ui import heavy, training
from ui.layout import controls_beside

PREFIX = "train."
STEP_STOPS = [3, 10, 25, 50, 100, 150, 200, 300, 500, 1000, 2000]
LR_STOPS = [3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2]
# Measured on one CPU thread (see the README): these settings reach a validation mIoU of 0.53-0.67 in
# 1000 steps (about a minute and a half), where 300 steps on 64 px crops of all difficulties stayed near 0.2.
DEFAULTS = {"arch": "unet", "width": 8, "depth": 3, "steps": 1000, "batch_size": 8, "lr": 5e-3, "image_size": 96,
            "crop_size": 0, "n_scenes": 300, "difficulties": ["easy", "medium"], "seed": 0, "val_every": 100}


def key(name: str) -> str:
    return PREFIX + name


def default(name: str) -> None:
    if key(name) not in st.session_state:
        st.session_state[key(name)] = DEFAULTS[name]


def controls() -> dict:
    """The training settings, from widgets that keep their values for the session."""
    for name in DEFAULTS:
        default(name)
    values = {"arch": st.segmented_control(
        "Architecture", list(ARCHITECTURES), key=key("arch"), required=True, wrap=True, persist_state="session",
        help="U-Net concatenates encoder maps into the decoder; SegNet unpools with the encoder's pooling "
             "indices; DeepLabV3 uses dilated convolutions and ASPP.")}
    left, right = st.columns(2)
    values["width"] = left.slider("Width", 4, 16, step=2, key=key("width"), persist_state="session",
                                  help="Channels of the first layer (doubling at each level). Wider learns more but "
                                       "each step is slower; 8 learns the shapes in a minute or two.")
    values["depth"] = right.slider("Depth", 1, 4, key=key("depth"), persist_state="session",
                                   help="Down-sampling levels. Deeper sees larger context (shapes, not just edges).")
    values["steps"] = left.select_slider("Steps", STEP_STOPS, key=key("steps"), persist_state="session",
                                                help="Optimisation steps (batches). A few hundred learn background vs "
                                              "objects; about a thousand start to name the shapes.")
    values["batch_size"] = right.slider("Batch size", 2, 16, key=key("batch_size"), persist_state="session",
                                        help="Scenes per step. Larger gives smoother, slower steps.")
    values["lr"] = left.select_slider("Learning rate", LR_STOPS, key=key("lr"), format_func=lambda v: f"{v:g}",
                                      persist_state="session",
                                      help="AdamW's peak step size (warm-up, then cosine decay). Too high diverges, "
                                           "too low crawls: try 2e-3 to 1e-2.")
    values["image_size"] = right.select_slider("Scene size", [64, 96, 128, 192, 256], key=key("image_size"),
                                               persist_state="session",
                                               help="Side (px) the 256 px scenes are shrunk to: the scale the "
                                                    "network sees, also at inference. Smaller is faster; shapes "
                                                    "get hard to tell apart below 96.")
    values["crop_size"] = left.select_slider("Crop", [0, 32, 48, 64, 96, 128], key=key("crop_size"),
                                             persist_state="session", format_func=lambda v: f"{v} px" if v else "whole",
                                             help="Train on random crops of this side (whole: entire scenes): the "
                                                  "same scale for a fraction of the cost per step, but a crop "
                                                  "shows fewer objects, so each step teaches less.")
    values["n_scenes"] = right.slider("Training scenes", 20, 1000, step=10, key=key("n_scenes"),
                                      persist_state="session",
                                      help="Scenes drawn once per session. More scenes generalise better; drawing "
                                           "them takes a few seconds.")
    values["difficulties"] = st.multiselect("Difficulty mix", list(data.DIFFICULTIES), key=key("difficulties"), wrap=True,
                                            persist_state="session",
                                            help="Which ShapeScenes difficulties to train on. Easy and medium "
                                                 "scenes learn fastest; add hard ones for long runs. Validation "
                                                 "always uses medium scenes.")
    values["seed"] = left.number_input("Seed", 0, 9, key=key("seed"), persist_state="session",
                                       help="Fixes the initial weights, the scenes and the batch order.")
    values["val_every"] = right.number_input("Validate every", 5, 500, step=5, key=key("val_every"),
                                             persist_state="session",
                                             help="Steps between validation mIoU measurements (8 medium scenes).")
    if values["crop_size"] and values["crop_size"] > values["image_size"]:
        values["crop_size"] = 0
    return values


def draw(history: list, steps: int, places, tag: str) -> None:
    loss_fig, miou_fig = training.curves(history, steps)
    places[0].plotly_chart(loss_fig, key=f"train.loss.{tag}", width="stretch")
    places[1].plotly_chart(miou_fig, key=f"train.miou.{tag}", width="stretch")


def result_section(kept: dict) -> None:
    card = kept["card"]
    medium = card["metrics"].get("medium", {})
    word = "finished" if kept["status"] == "done" else "stopped"
    st.success(f"Training {word} at step {kept['step']}: {kept['arch']} with {card['parameters']:,} parameters, "
               f"mIoU {medium.get('miou', 0):.3f} on {training.EVAL_SCENES} held-out medium scenes.",
               icon=":material/school:")
    row = st.container(horizontal=True)
    if row.button("Use this model in Explore and Compare", type="primary", key="train.use",
                  icon=":material/input:",
                  help=f"Makes these weights the custom weights of the {kept['arch']!r} method for this session, "
                       "and sets its input size to the trained scene size."):
        training.use_model()
        st.toast(f"Explore and Compare now run {kept['arch']!r} with the weights trained here.",
                 icon=":material/check:")
    row.download_button("Weights (safetensors)", kept["weights"], file_name=f"{kept['arch']}-trained.safetensors",
                        mime="application/octet-stream", key="train.download.weights", on_click="ignore",
                        icon=":material/download:",
                        help="Load them back anywhere with weights=<file> (any page's Weights box, or seglib).")
    row.download_button("Model card (JSON)", training.card_json(kept), file_name=f"{kept['arch']}-card.json",
                        mime="application/json", key="train.download.card", on_click="ignore",
                        icon=":material/download:")
    with st.expander("Model card", icon=":material/badge:"):
        st.json(card, expanded=1)


st.header("Train", divider="gray",
          help="Train a small segmentation network on synthetic shape scenes on this machine's CPU.")
st.caption("Pick an architecture and a size, press Train and watch the loss fall and the validation mIoU rise. "
           "Stop keeps what was learned so far (Train again resumes); then use the model in Explore and "
           "Compare, or download its weights. Trained on synthetic shapes: expect nonsense on photos.")

settings_col, main = controls_beside("train", controls_width=340)
with settings_col:
    values = controls()
    buttons = st.container(horizontal=True)
    start = buttons.button("Train", type="primary", key="train.start", icon=":material/play_arrow:",
                           disabled=not values["difficulties"],
                           help="Starts training (or resumes a stopped run with the same settings).")
    buttons.button("Stop", key="train.stop", icon=":material/stop:",
                   help="Stops training after the current step; the model learned so far is kept.")

training.recover()  # a run interrupted by Stop (or any widget) keeps its last checkpoint
with main:
    status, bar = st.empty(), st.empty()
    places = tuple(column.empty() for column in st.columns(2))
    if start:
        folder = training.run_dir(values)
        resumed = training.start(values, folder)
        steps = values["steps"]
        every = max(1, steps // 40)
        curve = list((st.session_state.get(training.MODEL_KEY) or {}).get("history", [])) if resumed else []
        status.info(("Resuming" if resumed else "Training") + f" {values['arch']}...", icon=":material/model_training:")

        def progress(step, loss, val):  # on the heavy-job pool's thread: keep the point, report the step
            curve.append({"step": step, "loss": loss, "val_miou": val})
            if step % every == 0 or val is not None or step == steps:
                report(step / steps, f"step {step} of {steps}, loss {loss:.3f}"
                                     + (f", validation mIoU {val:.3f}" if val is not None else ""))

        drawn = [0]

        def redraw():  # on this page's run while the job trains: the curves so far
            if len(curve) > drawn[0]:
                drawn[0] = len(curve)
                draw(list(curve), steps, places, tag=str(curve[-1]["step"]))

        finished = {training.RUN_KEY: dict(st.session_state.get(training.RUN_KEY) or {})}
        with bar.container():
            done = heavy.run("train", ("train", str(folder), id(curve)), title=f"Training {values['arch']}",
                             fn=lambda: training.train(values, folder, progress, checkpoint_every=every,
                                                       state=finished),
                             block=True, on_tick=redraw)
        if done is not None:
            st.session_state.update(finished)
        status.empty()
        bar.empty()
    kept = st.session_state.get(training.MODEL_KEY)
    if kept is not None:
        draw(kept["history"], kept["card"]["training"]["steps"], places, tag="final")
        result_section(kept)
    elif not start:
        status.caption("No model trained in this session yet.")
