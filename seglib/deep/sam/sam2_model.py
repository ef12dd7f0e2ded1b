"""SAM 2.1: its four sizes and their checkpoints, the network built by Meta's ``sam2`` package, checked weights.

SAM 2.1 (Ravi et al., 2024) keeps SAM's split: a heavy image encoder (a
hierarchical Hiera instead of a plain ViT) runs once per picture, and a
light prompt encoder + mask decoder runs per prompt. The network is built
by the package's own ``build_sam2`` from its own hydra configs; this module
chooses the config, loads weights safely and wraps the package's
``SAM2ImagePredictor`` so that the encoder's output goes through the same
embedding cache as SAM 1's (:mod:`.embedding`, via :meth:`LoadedSam2.encode`).

Weights
-------
``weights=`` names a checkpoint file (the official ``.pt`` holds
``{"model": state_dict}``; safetensors works too). Without it,
``$SEGDASH_SAM2_WEIGHTS`` when set, else the official checkpoint of the
chosen size in torch's hub cache, downloaded on first use and checked
against its size and SHA-256 (:mod:`seglib.deep.sources`). Files are read
tensors-only (:mod:`seglib.deep.checkpoints`), and before anything is built
the tensors must match the declared architecture (Hiera width and depth),
so weights of another size are named as such.

Sizes are :data:`SIZES`; another network (a small one for tests and offline
demos of the plumbing) is a :class:`Sam2Config` of plain numbers, passed as
``config=`` or stored in a safetensors file's metadata by
:func:`save_sam2_weights`. Only numbers reach the package's config system:
a file never names code to run.

Importing this module imports neither torch nor ``sam2``; the first use does.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ...checks import parse_json
from ..sources import Download, download, user_source
from .model import _models, faster_decoding, upscale

WEIGHTS_ENV = "SEGDASH_SAM2_WEIGHTS"
BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"
SAM2_REFERENCE = ("N. Ravi et al., SAM 2: Segment Anything in Images and Videos, ICLR 2025 (arXiv:2408.00714); "
                  "checkpoints 2.1 of 2024-09-28.")


@dataclass(frozen=True)
class Sam2Size:
    """An official SAM 2.1 size: its config in the ``sam2`` package, Hiera width and depth, checkpoint."""

    name: str
    config_file: str
    width: int
    blocks: int
    parameters_m: int
    weights: Download
    d_model: int = 256


def _checkpoint(file_name: str, size: int, sha256: str) -> Download:
    # Meta publishes no checksums; these SHA-256s agree across independent published records of the files.
    return Download(file_name, BASE_URL + file_name, size=size, digest=sha256, exact_size=True, env=WEIGHTS_ENV)


SIZES = {
    "tiny": Sam2Size("tiny", "configs/sam2.1/sam2.1_hiera_t.yaml", 96, 12, 39, _checkpoint(
        "sam2.1_hiera_tiny.pt", 156_008_466, "7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69")),
    "small": Sam2Size("small", "configs/sam2.1/sam2.1_hiera_s.yaml", 96, 16, 46, _checkpoint(
        "sam2.1_hiera_small.pt", 184_416_285, "6d1aa6f30de5c92224f8172114de081d104bbd23dd9dc5c58996f0cad5dc4d38")),
    "base+": Sam2Size("base+", "configs/sam2.1/sam2.1_hiera_b+.yaml", 112, 24, 81, _checkpoint(
        "sam2.1_hiera_base_plus.pt", 323_606_802, "a2345aede8715ab1d5d31b4a509fb160c5a4af1970f199d9054ccfb746c004c5")),
    "large": Sam2Size("large", "configs/sam2.1/sam2.1_hiera_l.yaml", 144, 48, 224, _checkpoint(
        "sam2.1_hiera_large.pt", 898_083_611, "2647878d5dfa5098f2f8649825738a9345572bae2d4350a2468587ece47dd318")),
}
"""The four official SAM 2.1 sizes, smallest first."""


def _size(model_size: str) -> Sam2Size:
    if model_size not in SIZES:
        raise ValueError(f"model_size={model_size!r} is not allowed: expected one of {', '.join(SIZES)}")
    return SIZES[model_size]


def find_weights(model_size: str = "tiny") -> Path | None:
    """The weights file ``sam2`` would use without ``weights=``, or None if it must be downloaded first."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env) if Path(env).is_file() else None
    spec = _size(model_size).weights
    return spec.path if spec.is_cached() else None


# ----------------------------------------------------------------------------- architecture


def _ints(name: str, values, count: int | None, low: int, high: int) -> tuple[int, ...]:
    items = tuple(values) if isinstance(values, (list, tuple)) else None
    if (items is None or (count is not None and len(items) != count)
            or not all(isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in items)):
        size = f"{count} " if count is not None else ""
        raise ValueError(f"SAM 2.1 config {name}={values!r} is not allowed: expected a list of {size}integers "
                         f"from {low} to {high}")
    return items


@dataclass(frozen=True)
class Sam2Config:
    """A SAM 2.1 network other than the official sizes, in plain numbers (based on the tiny config).

    Attributes
    ----------
    embed_dim, num_heads : int
        Width and heads of Hiera's first stage (each stage doubles both).
    stages : tuple of 4 int
        Blocks per stage.
    global_att_blocks : tuple of int
        Blocks with global attention (not the first block of stages 2-4,
        which pool).
    window_spec : tuple of 4 int
        Attention window per stage.
    d_model : int
        Width of the feature pyramid and of the prompt encoder and mask
        decoder (a multiple of 8; the official 256).
    mem_dim : int
        Width of the video memory (unused on images; its weights exist).
    image_size : int
        Side of the square the picture is resized to (the official 1024; a multiple of 64).
    """

    embed_dim: int = 96
    num_heads: int = 1
    stages: tuple[int, ...] = (1, 2, 7, 2)
    global_att_blocks: tuple[int, ...] = (5, 7, 9)
    window_spec: tuple[int, ...] = (8, 4, 14, 7)
    d_model: int = 256
    mem_dim: int = 64
    image_size: int = 1024

    def __post_init__(self):
        for name, low, high in (("embed_dim", 1, 1024), ("num_heads", 1, 64), ("mem_dim", 1, 1024)):
            _ints(name, [getattr(self, name)], 1, low, high)
        _ints("d_model", [self.d_model], 1, 8, 2048)
        if self.d_model % 8:
            raise ValueError(f"SAM 2.1 config d_model={self.d_model} is not allowed: expected a multiple of 8")
        _ints("image_size", [self.image_size], 1, 64, 2048)
        if self.image_size % 64:
            raise ValueError(f"SAM 2.1 config image_size={self.image_size} is not allowed: expected a multiple of 64")
        stages = _ints("stages", self.stages, 4, 1, 64)
        pooling = {sum(stages[:i]) for i in (1, 2, 3)}  # the first block of stages 2-4 pools its queries
        blocks = _ints("global_att_blocks", self.global_att_blocks, None, 0, sum(stages) - 1)
        if pooling & set(blocks):
            raise ValueError(f"SAM 2.1 config global_att_blocks={list(blocks)} is not allowed: blocks "
                             f"{sorted(pooling)} start a stage and pool, so they cannot attend globally")
        object.__setattr__(self, "stages", stages)
        object.__setattr__(self, "global_att_blocks", blocks)
        object.__setattr__(self, "window_spec", _ints("window_spec", self.window_spec, 4, 1, 64))

    @property
    def width(self) -> int:
        return self.embed_dim

    @property
    def blocks(self) -> int:
        return sum(self.stages)

    def overrides(self) -> list[str]:
        """Hydra overrides of the tiny config that give this network (numbers only)."""
        trunk, neck = "model.image_encoder.trunk", "model.image_encoder.neck"
        attention, memory = "model.memory_attention", "model.memory_encoder"
        listed = lambda values: "[" + ",".join(str(v) for v in values) + "]"  # noqa: E731
        return [f"model.image_size={self.image_size}", f"{trunk}.embed_dim={self.embed_dim}", f"{trunk}.num_heads={self.num_heads}",
                f"{trunk}.stages={listed(self.stages)}", f"{trunk}.global_att_blocks={listed(self.global_att_blocks)}",
                f"++{trunk}.window_spec={listed(self.window_spec)}",
                f"{neck}.d_model={self.d_model}", f"{neck}.position_encoding.num_pos_feats={self.d_model}",
                f"{neck}.backbone_channel_list={listed(self.embed_dim * 2 ** k for k in (3, 2, 1, 0))}",
                f"{attention}.d_model={self.d_model}", f"{attention}.layer.d_model={self.d_model}",
                f"{attention}.layer.dim_feedforward={2 * self.d_model}", f"{attention}.num_layers=1",
                f"{attention}.layer.self_attention.embedding_dim={self.d_model}",
                f"{attention}.layer.cross_attention.embedding_dim={self.d_model}",
                f"{attention}.layer.cross_attention.kv_in_dim={self.mem_dim}",
                f"{memory}.out_dim={self.mem_dim}", f"{memory}.position_encoding.num_pos_feats={self.mem_dim}",
                f"{memory}.fuser.layer.dim={self.d_model}", f"{memory}.fuser.num_layers=1"]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, values) -> "Sam2Config":
        """Build from a mapping (``ValueError`` naming unknown fields or values out of range)."""
        if not isinstance(values, dict):
            raise ValueError(f"SAM 2.1 config must be a mapping of field names to numbers, got "
                             f"{type(values).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"SAM 2.1 config has unknown fields {unknown}; valid fields: {sorted(names)}")
        return cls(**values)


TEST_CONFIG = Sam2Config(embed_dim=8, num_heads=1, stages=(1, 1, 2, 1), global_att_blocks=(3,), d_model=32,
                         mem_dim=16, image_size=256)
"""A SAM 2.1 of about 0.8 million parameters for tests (random weights segment nothing)."""


def _as_config(config) -> Sam2Config:
    if isinstance(config, Sam2Config):
        return config
    return Sam2Config.from_dict(config)


def build_sam2_network(spec: Sam2Config | str = "tiny", device: str = "cpu"):
    """A SAM 2.1 network of an official size (``"tiny"``...) or a :class:`Sam2Config`, random weights, eval mode.

    Built by the ``sam2`` package's ``build_sam2`` from its own config files.
    """
    from sam2.build_sam import build_sam2

    if isinstance(spec, str):
        config_file, overrides = _size(spec).config_file, []
    else:
        config_file, overrides = SIZES["tiny"].config_file, _as_config(spec).overrides()
    return build_sam2(config_file, ckpt_path=None, device=device, mode="eval", hydra_overrides_extra=overrides)


def save_sam2_weights(model, config: Sam2Config, path) -> Path:
    """Save a SAM 2.1 network as safetensors whose metadata carries its :class:`Sam2Config`."""
    from ..checkpoints import save_weights

    return save_weights(model, path, metadata={"arch": "sam2", "sam2_config": _as_config(config).to_json()})


def _declared_shape(state: dict) -> tuple[int, int, int]:
    """Hiera width, Hiera block count and decoder width that a state dict's tensors declare."""
    weight = state.get("image_encoder.trunk.patch_embed.proj.weight")
    prompt = state.get("sam_prompt_encoder.point_embeddings.0.weight")
    if weight is None or weight.ndim != 4 or prompt is None or prompt.ndim != 2:
        raise ValueError("not a SAM 2 checkpoint: it has no Hiera image encoder or no prompt encoder "
                         "(no 'image_encoder.trunk.patch_embed.proj.weight' or "
                         "'sam_prompt_encoder.point_embeddings.0.weight')")
    blocks = {key.split(".")[3] for key in state if key.startswith("image_encoder.trunk.blocks.")}
    return int(weight.shape[0]), len(blocks), int(prompt.shape[1])


def _check_declared(state: dict, expected, name: str, source: str) -> None:
    """``ValueError`` naming the size the weights belong to when it is not ``expected``'s."""
    try:
        declared = _declared_shape(state)
    except ValueError as error:
        raise ValueError(f"{source} is {error}") from None
    shape = lambda spec: (spec.width, spec.blocks, spec.d_model)  # noqa: E731
    if declared == shape(expected):
        return
    known = [s.name for s in SIZES.values() if shape(s) == declared]
    what = (f"SAM 2.1 {known[0]}" if known else
            "a SAM 2 of Hiera width {}, {} blocks and decoder width {}".format(*declared))
    hint = f"choose model_size={known[0]!r}" if known else "pass the matching config="
    raise ValueError(f"{source} holds {what} weights, not {name} (Hiera width {expected.width}, "
                     f"{expected.blocks} blocks, decoder width {expected.d_model}): {hint}")


def _choose_config(model_size: str, config, metadata: dict):
    if config is not None:
        return _as_config(config), "a custom SAM 2.1"
    if "sam2_config" in metadata:
        values = parse_json(metadata["sam2_config"], "the weights file's sam2_config metadata")
        return Sam2Config.from_dict(values), "a custom SAM 2.1 (config from the file)"
    return _size(model_size), f"SAM 2.1 {model_size}"


# ----------------------------------------------------------------------------- loading


@functools.cache
def _predictor_class():
    """The package's image predictor, able to take an image embedding from the cache instead of encoding."""
    from sam2.sam2_image_predictor import SAM2ImagePredictor
    from sam2.utils.transforms import SAM2Transforms

    class Transforms(SAM2Transforms):
        def postprocess_masks(self, masks, orig_hw):
            if self.max_hole_area > 0 or self.max_sprinkle_area > 0:
                return super().postprocess_masks(masks, orig_hw)
            return upscale(masks.float(), orig_hw)  # the package's resize, a quarter of its time on a CPU

    class CachedEmbeddingPredictor(SAM2ImagePredictor):
        def __init__(self, model, **kwargs):
            super().__init__(model, **kwargs)
            side = int(model.image_size)  # the package assumes 1024: feature maps at strides 4, 8 and 16
            self._bb_feat_sizes = [(side // 4, side // 4), (side // 8, side // 8), (side // 16, side // 16)]
            given = self._transforms
            self._transforms = Transforms(given.resolution, given.mask_threshold, given.max_hole_area,
                                          given.max_sprinkle_area)

        def use(self, features: dict, original_size: tuple[int, int]) -> None:
            """Predict on an embedded image: ``features`` as :meth:`LoadedSam2.encode` returned them."""
            self.reset_predictor()
            self._features = {"image_embed": features["image_embed"],
                              "high_res_feats": [features["high_res_0"], features["high_res_1"]]}
            self._orig_hw = [tuple(original_size)]
            self._is_image_set = True

        def set_image(self, image) -> None:
            # The automatic mask generator calls this for its (single, whole-image) crop: keep the embedding.
            if not (self._is_image_set and tuple(image.shape[:2]) == self._orig_hw[0]):
                super().set_image(image)

    return CachedEmbeddingPredictor


@dataclass(frozen=True, eq=False)
class LoadedSam2:
    """A SAM 2.1 network ready for inference, with the package's predictor and where the weights came from.

    The predictor holds one image at a time, so :attr:`lock` guards it.
    """

    model: Any
    name: str
    source: str
    key: str
    predictor: Any = field(repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def image_size(self) -> int:
        return int(self.model.image_size)

    def encode(self, rgb):
        """The image encoder's output for an RGB uint8 image (named tensors) and the square it was resized to."""
        import torch

        with self.lock, torch.inference_mode():
            self.predictor.reset_predictor()
            self.predictor.set_image(rgb)
            features = self.predictor._features
            self.predictor.reset_predictor()
            named = {"image_embed": features["image_embed"], "high_res_0": features["high_res_feats"][0],
                     "high_res_1": features["high_res_feats"][1]}
            # Channels-last, the layout the decoder works in (see channels_last_decoder): no conversions per prompt.
            named = {name: tensor.contiguous(memory_format=torch.channels_last) for name, tensor in named.items()}
        return named, (self.image_size, self.image_size)


def _source(model_size: str, weights, fetch: Callable | None):
    spec = _size(model_size).weights
    if weights is None and os.environ.get(WEIGHTS_ENV):
        weights = os.environ[WEIGHTS_ENV]
        if not Path(weights).is_file():
            raise FileNotFoundError(f"{WEIGHTS_ENV}={weights!r}: no such file")
    if weights is None:
        weights = download(spec, f"SAM 2.1 {model_size}", fetch=fetch)
    return user_source(weights, "sam2", hint=spec.instructions())


def load_sam2(model_size: str = "tiny", weights=None, *, config=None, fetch: Callable | None = None) -> LoadedSam2:
    """Load (once per process; the same bounded cache as SAM's models) a SAM 2.1 network with checked weights.

    Parameters
    ----------
    model_size : {"tiny", "small", "base+", "large"}
        The architecture, unless ``config`` or the file's metadata gives one.
    weights : path, bytes or binary file, optional
        A checkpoint (official ``.pt`` or safetensors). Default:
        ``$SEGDASH_SAM2_WEIGHTS``, else the official file (downloaded once).
    config : Sam2Config or dict, optional
        A custom architecture.
    fetch : callable, optional
        Replaces the downloader (tests; see :func:`seglib.deep.sources.download`).

    Raises
    ------
    seglib.deep.sources.WeightsUnavailable
        Offline without a cached checkpoint.
    ValueError
        For a pickle with code, a truncated file, weights of another size, or a bad config.
    """
    import torch

    from ..checkpoints import check_state_dict, read_weights

    _size(model_size)
    custom = None if config is None else _as_config(config).to_json()
    source = _source(model_size, weights, fetch)
    key = hashlib.blake2b(repr(("sam2", source.key, model_size, custom)).encode(), digest_size=12).hexdigest()
    label = repr(str(source.data)) if isinstance(source.data, Path) else "the given weights"

    def build() -> LoadedSam2:
        state, metadata = read_weights(source.data)
        chosen, name = _choose_config(model_size, config, metadata)
        _check_declared(state, chosen, name, label)  # before anything is built
        model = build_sam2_network(chosen.name if isinstance(chosen, Sam2Size) else chosen)
        model.load_state_dict(check_state_dict(state, model, name=f"the SAM 2.1 weights in {label}"))
        model.to("cuda" if torch.cuda.is_available() else "cpu")
        faster_decoding(model.sam_prompt_encoder, model.sam_mask_decoder)
        return LoadedSam2(model=model, name=name, source=label, key=key, predictor=_predictor_class()(model))

    return _models.get_or_build(key, build)
