"""Train: teach a small network on ShapeScenes, watch it learn, then use it in Explore and Compare.

Thin page: read widgets, call seglib.deep.train through ui.training, draw.
"""

import streamlit as st

from seglib.progress import report
from ui import heavy, training
from ui.layout import controls_beside


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
    values = training.controls()
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
