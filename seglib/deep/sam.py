"""Segment Anything (SAM): prompt it with clicks and boxes (``sam``) or let it segment everything (``sam-auto``).

SAM (Kirillov et al., 2023) splits the work in two. A large ViT *image
encoder* turns the picture into an embedding once (seconds on a CPU); a
light *prompt encoder + mask decoder* turns each prompt into masks in a
fraction of that. So the embedding is computed once per image and model
(keyed by the working image's content hash, the architecture and the weights
file) and kept in an in-memory LRU; every further prompt on the same image
only runs the decoder. Each result says how long the encoder and decoder
took and whether the embedding came from the cache.

Weights
-------
``weights=`` names a checkpoint file. Without it, ``$SEGDASH_SAM_WEIGHTS``
is used when set, else the official checkpoint in torch's hub cache
(``torch.hub.get_dir()/checkpoints``), downloaded on first use from
``dl.fbaipublicfiles.com`` with a progress callback, and checked against
its published size and MD5 (the hex in each file name is the start of its
MD5). Offline and uncached, a :class:`SamWeightsMissing` error says within
seconds which file to put where. Checkpoints are read safely
(:mod:`seglib.deep.checkpoints`: safetensors or ``torch.load(weights_only=True)``),
so a pickle that would run code is refused, and weights of another model
type are named as such.

Architectures are :class:`SamConfig` values: the three official ones in
:data:`SAM_CONFIGS`, or any other (e.g. a tiny one for tests) passed as
``config=`` or stored in a safetensors file's metadata by
:func:`save_sam_weights`.

Importing this module does not import torch; the first use does.

>>> result = seglib.segment(image, "sam", points=[(120, 80, 1)])     # doctest: +SKIP
>>> result.candidates[0]["predicted_iou"], result.timings["cache_hit"]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import progress
from ..cache import fingerprint
from ..imaging import as_uint8, to_rgb
from ..interactive import PROMPT_INPUTS, PROMPT_NEEDS, working_prompts
from ..prompts import Prompts, draw_prompts, parse_prompts
from ..registry import Param, register
from ..result import Curve, Points, Segmentation

BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
WEIGHTS_ENV = "SEGDASH_SAM_WEIGHTS"
EMBEDDING_DIR_ENV = "SEGDASH_SAM_EMBEDDING_DIR"
"""Folder where image embeddings are also kept on disk, so they outlive the process (unset: memory only)."""
MODEL_TYPES = ("vit_b", "vit_l", "vit_h")
DOWNLOAD_TIMEOUT_S = 10.0
_MASK_THRESHOLD = 0.0       # SAM's logit threshold (Sam.mask_threshold)
_STABILITY_OFFSET = 1.0     # logit offset of the stability score (SAM's default)
_AUTO_BATCH = 16            # grid points decoded together by sam-auto
_MAX_MODELS = 2             # vit_h alone holds 2.5 GB
_MAX_EMBEDDINGS = 8         # 4 MB each
_MAX_DISK_EMBEDDINGS = 256  # 1 GB at most in the embedding folder; the least recently used go first
_MAX_RAW_MASKS = 4          # compressed masks of one image each
_DECODER_THREADS = 1        # see decoder_threads()


# ----------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Checkpoint:
    """An official SAM checkpoint: file name, size in bytes and MD5."""

    model_type: str
    file_name: str
    size: int
    md5: str

    @property
    def url(self) -> str:
        return BASE_URL + self.file_name


CHECKPOINTS = {
    "vit_b": Checkpoint("vit_b", "sam_vit_b_01ec64.pth", 375_042_383, "01ec64d29a2fca3f0661936605ae66f8"),
    "vit_l": Checkpoint("vit_l", "sam_vit_l_0b3195.pth", 1_249_524_607, "0b3195507c641ddb6910d2bb5adee89c"),
    "vit_h": Checkpoint("vit_h", "sam_vit_h_4b8939.pth", 2_564_550_879, "4b8939a88964f0f4ff5f5b2642c598a6"),
}


class SamWeightsMissing(FileNotFoundError):
    """No SAM checkpoint is available and none could be downloaded; the message says what to do."""


def _checkpoint(model_type: str) -> Checkpoint:
    if model_type not in CHECKPOINTS:
        raise ValueError(f"model_type={model_type!r} is not allowed: expected one of {', '.join(MODEL_TYPES)}")
    return CHECKPOINTS[model_type]


def cache_dir() -> Path:
    """Where downloaded checkpoints live: torch's hub cache, ``torch.hub.get_dir()/checkpoints``."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def checkpoint_path(model_type: str) -> Path:
    """Where the official checkpoint of ``model_type`` is (or would be) cached."""
    return cache_dir() / _checkpoint(model_type).file_name


def find_weights(model_type: str = "vit_b") -> Path | None:
    """The weights file ``sam`` would use without ``weights=``, or None if it must be downloaded first."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return Path(env) if Path(env).is_file() else None
    path = checkpoint_path(model_type)
    return path if path.is_file() else None


def how_to_get_weights(model_type: str = "vit_b") -> str:
    """One paragraph saying which file to download and where to put it."""
    spec = _checkpoint(model_type)
    return (f"Download {spec.file_name} ({spec.size / 1e6:.0f} MB) from {spec.url} and put it at "
            f"{checkpoint_path(model_type)}, or pass weights='path/to/{spec.file_name}', or set "
            f"{WEIGHTS_ENV}=/path/to/{spec.file_name}.")


def fetch_url(url: str, destination: Path, progress: Callable[[int, int], None] | None,
              timeout: float = DOWNLOAD_TIMEOUT_S) -> None:
    """Stream ``url`` into ``destination``, calling ``progress(bytes_done, bytes_total)`` per chunk."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(destination, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while chunk := response.read(1 << 20):
            out.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)


def print_progress(done: int, total: int) -> None:
    """Default download progress: a line on stderr every 5%."""
    if total and (done == total or done * 20 // total != (done - (1 << 20)) * 20 // total):
        print(f"SAM checkpoint: {done / 1e6:.0f} / {total / 1e6:.0f} MB", file=sys.stderr, flush=True)


def verify_checkpoint(path: Path, spec: Checkpoint) -> None:
    """Check a downloaded file's size and MD5 against the published ones (``ValueError`` if they differ)."""
    size = path.stat().st_size
    if size != spec.size:
        raise ValueError(f"{path} has {size} bytes but {spec.file_name} has {spec.size}: the download is "
                         "incomplete or not the official file")
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            digest.update(chunk)
    if digest.hexdigest() != spec.md5:
        raise ValueError(f"{path} has MD5 {digest.hexdigest()} but {spec.file_name} has {spec.md5}: the file "
                         "is corrupt or not the official checkpoint")


def download_checkpoint(model_type: str = "vit_b", *, progress: Callable[[int, int], None] | None = print_progress,
                        fetch: Callable | None = None) -> Path:
    """Download the official checkpoint of ``model_type`` into :func:`cache_dir` and verify it.

    Parameters
    ----------
    model_type : {"vit_b", "vit_l", "vit_h"}
    progress : callable, optional
        ``progress(bytes_done, bytes_total)`` during the download.
    fetch : callable, optional
        ``fetch(url, destination, progress)``; defaults to :func:`fetch_url`
        (tests pass their own and never touch the network).

    Returns
    -------
    Path
        The verified file.

    Raises
    ------
    SamWeightsMissing
        When the download fails (offline, blocked...): names the file and
        where to put it.
    ValueError
        When the downloaded file's size or MD5 is wrong (the file is removed).
    """
    spec = _checkpoint(model_type)
    target = checkpoint_path(model_type)
    partial = target.with_name(target.name + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        (fetch or fetch_url)(spec.url, partial, progress)
    except OSError as error:  # URLError, timeouts and disk errors are all OSErrors
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise SamWeightsMissing(f"SAM {model_type} weights are not available: {spec.file_name} is not in "
                                f"{target.parent} and downloading it failed ({reason}). "
                                + how_to_get_weights(model_type)) from None
    try:
        verify_checkpoint(partial, spec)
    except ValueError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target


def resolve_weights(model_type: str, weights=None, *, fetch: Callable | None = None) -> Path:
    """The checkpoint file to load: ``weights``, ``$SEGDASH_SAM_WEIGHTS``, the cache, or a fresh download."""
    if weights is not None:
        if not isinstance(weights, (str, os.PathLike)):
            raise TypeError(f"weights of type {type(weights).__name__} is not allowed: expected a path to a SAM "
                            "checkpoint (.pth or .safetensors)")
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"weights={str(weights)!r}: no such file. " + how_to_get_weights(model_type))
        return path
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        if not Path(env).is_file():
            raise FileNotFoundError(f"{WEIGHTS_ENV}={env!r}: no such file")
        return Path(env)
    cached = checkpoint_path(model_type)
    return cached if cached.is_file() else download_checkpoint(model_type, fetch=fetch)


# ----------------------------------------------------------------------------- architecture


@dataclass(frozen=True)
class SamConfig:
    """The sizes that define a SAM network (defaults: the official decoder and 1024 px input)."""

    encoder_embed_dim: int
    encoder_depth: int
    encoder_num_heads: int
    encoder_global_attn_indexes: tuple[int, ...]
    image_size: int = 1024
    patch_size: int = 16
    window_size: int = 14
    prompt_embed_dim: int = 256
    mask_in_chans: int = 16
    decoder_depth: int = 2
    decoder_mlp_dim: int = 2048
    decoder_num_heads: int = 8
    iou_head_hidden_dim: int = 256

    def __post_init__(self):
        object.__setattr__(self, "encoder_global_attn_indexes", tuple(int(i) for i in self.encoder_global_attn_indexes))

    @property
    def low_res_size(self) -> int:
        """Side of the decoder's low-resolution mask logits (256 for the official models)."""
        return 4 * (self.image_size // self.patch_size)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict) -> "SamConfig":
        """Build from a mapping (``ValueError`` naming unknown or missing fields)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"SAM config has unknown fields {unknown}; valid fields: {sorted(names)}")
        try:
            return cls(**values)
        except TypeError as error:
            raise ValueError(f"SAM config {values!r} is incomplete: {error}") from None


SAM_CONFIGS = {
    "vit_b": SamConfig(768, 12, 12, (2, 5, 8, 11)),
    "vit_l": SamConfig(1024, 24, 16, (5, 11, 17, 23)),
    "vit_h": SamConfig(1280, 32, 16, (7, 15, 23, 31)),
}

TINY_CONFIG = SamConfig(encoder_embed_dim=32, encoder_depth=1, encoder_num_heads=1, encoder_global_attn_indexes=(),
                        image_size=64, patch_size=16, window_size=0, prompt_embed_dim=32, mask_in_chans=4,
                        decoder_depth=1, decoder_mlp_dim=64, decoder_num_heads=1, iou_head_hidden_dim=32)
"""A SAM of 77 thousand parameters for tests and offline demos of the plumbing (random weights segment nothing)."""


def _as_config(config) -> SamConfig:
    if isinstance(config, SamConfig):
        return config
    if isinstance(config, dict):
        return SamConfig.from_dict(config)
    raise TypeError(f"config of type {type(config).__name__} is not allowed: expected a SamConfig or a dict")


def build_sam(config: SamConfig | str):
    """A SAM network of ``config`` (or an official model type) with random weights, in eval mode."""
    from functools import partial

    import torch
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    config = SAM_CONFIGS[config] if isinstance(config, str) else _as_config(config)
    grid = config.image_size // config.patch_size
    model = Sam(
        image_encoder=ImageEncoderViT(
            depth=config.encoder_depth, embed_dim=config.encoder_embed_dim, img_size=config.image_size,
            mlp_ratio=4, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=config.encoder_num_heads,
            patch_size=config.patch_size, qkv_bias=True, use_rel_pos=True,
            global_attn_indexes=config.encoder_global_attn_indexes, window_size=config.window_size,
            out_chans=config.prompt_embed_dim),
        prompt_encoder=PromptEncoder(
            embed_dim=config.prompt_embed_dim, image_embedding_size=(grid, grid),
            input_image_size=(config.image_size, config.image_size), mask_in_chans=config.mask_in_chans),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=config.decoder_depth, embedding_dim=config.prompt_embed_dim,
                                          mlp_dim=config.decoder_mlp_dim, num_heads=config.decoder_num_heads),
            transformer_dim=config.prompt_embed_dim, iou_head_depth=3,
            iou_head_hidden_dim=config.iou_head_hidden_dim),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    return model.eval()


def save_sam_weights(model, config: SamConfig, path) -> Path:
    """Save a SAM network as safetensors whose metadata carries its :class:`SamConfig`."""
    from .checkpoints import save_weights

    return save_weights(model, path, metadata={"arch": "sam", "sam_config": _as_config(config).to_json()})


# ----------------------------------------------------------------------------- loading and caches


class _LRU:
    """A small thread-safe least-recently-used mapping with hit/miss counters."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.RLock()
        self.stats = {"hits": 0, "misses": 0}

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                self.stats["hits"] += 1
                return self.items[key]
            self.stats["misses"] += 1
            return None

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.stats.update(hits=0, misses=0)


_models = _LRU(_MAX_MODELS)
_embeddings = _LRU(_MAX_EMBEDDINGS)
_raw_masks = _LRU(_MAX_RAW_MASKS)
_load_lock = threading.Lock()
_encode_lock = threading.Lock()
embedding_stats = _embeddings.stats
"""Hits and misses of the image-embedding cache (a miss runs the image encoder)."""


def clear_caches(*which: str) -> None:
    """Forget ``"models"``, ``"embeddings"`` and/or ``"raw_masks"`` (all three by default).

    For tests, benchmarks and memory pressure.
    """
    caches = {"models": _models, "embeddings": _embeddings, "raw_masks": _raw_masks}
    for name in which or tuple(caches):
        if name not in caches:
            raise ValueError(f"which={name!r} is not allowed: expected some of {', '.join(caches)}")
        caches[name].clear()


@dataclass(frozen=True, eq=False)
class LoadedSam:
    """A SAM network ready for inference, with what it is and where its weights came from."""

    model: Any
    config: SamConfig
    name: str
    source: str
    key: str

    @property
    def device(self):
        return next(self.model.parameters()).device


def _encoder_shape(state: dict) -> tuple[int, int]:
    weight = state.get("image_encoder.patch_embed.proj.weight")
    if weight is None:
        raise ValueError("not a Segment Anything checkpoint: it has no image encoder "
                         "(no 'image_encoder.patch_embed.proj.weight')")
    blocks = {key.split(".")[2] for key in state if key.startswith("image_encoder.blocks.")}
    return int(weight.shape[0]), len(blocks)


def _check_model_type(state: dict, config: SamConfig, name: str, source: str) -> None:
    """``ValueError`` naming the model the weights belong to when it is not ``config``."""
    try:
        width, depth = _encoder_shape(state)
    except ValueError as error:
        raise ValueError(f"{source} is {error}") from None
    if (width, depth) == (config.encoder_embed_dim, config.encoder_depth):
        return
    known = [t for t, c in SAM_CONFIGS.items() if (c.encoder_embed_dim, c.encoder_depth) == (width, depth)]
    what = f"SAM {known[0]}" if known else f"a SAM image encoder of width {width} and depth {depth}"
    hint = f"choose model_type={known[0]!r}" if known else "pass the matching config="
    raise ValueError(f"{source} holds {what} weights, not {name} (width {config.encoder_embed_dim}, depth "
                     f"{config.encoder_depth}): {hint}")


def _choose_config(model_type: str, config, metadata: dict) -> tuple[SamConfig, str]:
    if config is not None:
        return _as_config(config), "a custom SAM"
    if "sam_config" in metadata:
        try:
            return SamConfig.from_dict(json.loads(metadata["sam_config"])), "a custom SAM (config from the file)"
        except (json.JSONDecodeError, TypeError) as error:
            raise ValueError(f"the weights file's sam_config metadata is not valid JSON: {error}") from None
    _checkpoint(model_type)
    return SAM_CONFIGS[model_type], f"SAM {model_type}"


def load_sam(model_type: str = "vit_b", weights=None, *, config=None, fetch: Callable | None = None) -> LoadedSam:
    """Load (once per process, LRU of two) a SAM network with checked weights.

    Parameters
    ----------
    model_type : {"vit_b", "vit_l", "vit_h"}
        The architecture, unless ``config`` or the file's metadata gives one.
    weights : path, optional
        A checkpoint (official ``.pth`` state dict or safetensors). Default:
        see :func:`resolve_weights`.
    config : SamConfig or dict, optional
        A custom architecture.
    fetch : callable, optional
        Replaces the downloader (see :func:`download_checkpoint`).

    Raises
    ------
    SamWeightsMissing
        Offline without a cached checkpoint.
    ValueError
        For a pickle with code, a truncated file, or weights of another model.
    """
    import torch

    from .checkpoints import check_state_dict, read_weights

    path = resolve_weights(model_type, weights, fetch=fetch).resolve()
    stat = path.stat()
    custom = None if config is None else _as_config(config).to_json()
    key = hashlib.blake2b(repr((str(path), stat.st_mtime_ns, stat.st_size, model_type, custom)).encode(),
                          digest_size=12).hexdigest()
    with _load_lock:
        loaded = _models.get(key)
        if loaded is not None:
            return loaded
        state, metadata = read_weights(path)
        chosen, name = _choose_config(model_type, config, metadata)
        _check_model_type(state, chosen, name, repr(str(path)))
        model = build_sam(chosen)
        model.load_state_dict(check_state_dict(state, model, name=f"the SAM weights in {str(path)!r}"))
        model.to("cuda" if torch.cuda.is_available() else "cpu")
        loaded = LoadedSam(model=model, config=chosen, name=name, source=str(path), key=key)
        _models.put(key, loaded)
        return loaded


@dataclass(frozen=True, eq=False)
class Embedding:
    """SAM's image embedding of one image, with the sizes needed to map prompts and masks."""

    features: Any                  # torch.Tensor (1, C, h, w)
    input_size: tuple[int, int]    # the image resized for the encoder, before padding
    original_size: tuple[int, int]  # the image's (H, W)
    seconds: float


def image_embedding(loaded: LoadedSam, image: np.ndarray) -> tuple[Embedding, bool]:
    """The embedding of ``image`` (computed once per image content and model); and whether it was cached."""
    import torch
    from segment_anything.utils.transforms import ResizeLongestSide

    key = (fingerprint(image), loaded.key)
    embedding = _embeddings.get(key)
    if embedding is not None:
        return embedding, True
    with _encode_lock:  # one encoder run at a time: a second request for the same image waits and reuses it
        embedding = _embeddings.items.get(key)
        if embedding is not None:
            return embedding, True
        stored = _embedding_file(key)
        embedding = _read_embedding(stored, loaded.device) if stored is not None else None
        if embedding is not None:
            _embeddings.put(key, embedding)
            return embedding, True
        start = time.perf_counter()
        rgb = as_uint8(to_rgb(image))
        resized = ResizeLongestSide(loaded.config.image_size).apply_image(rgb)
        tensor = torch.as_tensor(resized, device=loaded.device).permute(2, 0, 1).contiguous()[None]
        with torch.inference_mode():
            features = loaded.model.image_encoder(loaded.model.preprocess(tensor))
        embedding = Embedding(features, tuple(resized.shape[:2]), tuple(rgb.shape[:2]), time.perf_counter() - start)
        _embeddings.put(key, embedding)
        if stored is not None:
            _write_embedding(stored, embedding)
        return embedding, False


def _embedding_file(key: tuple) -> Path | None:
    """Where the embedding of ``key`` (image fingerprint, model key) lives on disk; None when not enabled."""
    folder = os.environ.get(EMBEDDING_DIR_ENV)
    if not folder:
        return None
    name = hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()
    return Path(folder).expanduser() / f"{name}.safetensors"


def _read_embedding(path: Path, device) -> Embedding | None:
    """A stored embedding (safetensors: data only), or None when missing or unreadable (it is then recomputed)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as file:
            meta = file.metadata() or {}
            features = file.get_tensor("features").to(device)
            embedding = Embedding(features, tuple(json.loads(meta["input_size"])),
                                  tuple(json.loads(meta["original_size"])), float(meta["seconds"]))
        os.utime(path)  # recently used: pruned last
        return embedding
    except Exception:  # noqa: BLE001 - missing, truncated or foreign: the encoder runs and rewrites it
        return None


def _write_embedding(path: Path, embedding: Embedding) -> None:
    """Store ``embedding`` atomically and keep the folder within :data:`_MAX_DISK_EMBEDDINGS` files.

    A folder that cannot be written only costs the encoder run next time: the error is not raised.
    """
    from safetensors.torch import save_file

    meta = {"input_size": json.dumps(list(embedding.input_size)),
            "original_size": json.dumps(list(embedding.original_size)), "seconds": repr(embedding.seconds)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        save_file({"features": embedding.features.detach().cpu().contiguous()}, str(partial), metadata=meta)
        partial.replace(path)
        files = sorted(path.parent.glob("*.safetensors"), key=lambda f: f.stat().st_mtime_ns)
        for old in files[:max(0, len(files) - _MAX_DISK_EMBEDDINGS)]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


# ----------------------------------------------------------------------------- decoding


@contextlib.contextmanager
def decoder_threads(n: int = _DECODER_THREADS):
    """Run torch with ``n`` intra-op threads inside the block (the process setting is restored after).

    The decoder's tensors are small: on a busy two-core machine a second
    thread mostly waits at barriers, and one thread was five times faster
    (about 0.2 s against 1 s per prompt for vit_b). The setting is process
    wide, so a concurrent encoder run may briefly see it too; that only
    changes speed.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(min(n, before))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class Decoded:
    """Masks for one prompt: logits at the image's size, predicted IoU, stability and low-res logits."""

    logits: np.ndarray       # (C, H, W) float32
    predicted_iou: np.ndarray  # (C,)
    stability: np.ndarray    # (C,)
    low_res: np.ndarray      # (C, s, s) float32, s = config.low_res_size
    seconds: float


def _check_mask_input(mask_input, config: SamConfig) -> np.ndarray | None:
    if mask_input is None:
        return None
    array = np.asarray(mask_input, dtype=np.float32)
    side = config.low_res_size
    if array.shape not in ((side, side), (1, side, side)) or not np.all(np.isfinite(array)):
        raise ValueError(f"mask_input has shape {array.shape}; expected SAM's low-resolution logits of shape "
                         f"({side}, {side}) (result.low_res_logits of an earlier call), finite")
    return array.reshape(1, 1, side, side)


def decode(loaded: LoadedSam, embedding: Embedding, prompts: Prompts, *, multimask: bool = True,
           mask_input: np.ndarray | None = None) -> Decoded:
    """Run SAM's prompt encoder and mask decoder on a cached embedding.

    Parameters
    ----------
    prompts : Prompts
        In the pixels of the embedded image (``embedding.original_size``).
    multimask : bool
        Three candidate masks (for ambiguous prompts such as one click) or one.
    mask_input : ndarray, optional
        Low-resolution logits of an earlier prediction, fed back to refine it.
    """
    import torch
    from segment_anything.utils.amg import calculate_stability_score
    from segment_anything.utils.transforms import ResizeLongestSide

    start = time.perf_counter()
    model, device = loaded.model, loaded.device
    transform = ResizeLongestSide(loaded.config.image_size)
    points = boxes = masks = None
    if len(prompts.points):
        coords = transform.apply_coords(prompts.points, embedding.original_size)
        points = (torch.as_tensor(coords, dtype=torch.float32, device=device)[None],
                  torch.as_tensor(prompts.labels, dtype=torch.int, device=device)[None])
    if prompts.box is not None:
        boxes = torch.as_tensor(transform.apply_boxes(prompts.box[None], embedding.original_size),
                                dtype=torch.float32, device=device)
    if mask_input is not None:
        masks = torch.as_tensor(_check_mask_input(mask_input, loaded.config), device=device)
    with torch.inference_mode(), decoder_threads():
        sparse, dense = model.prompt_encoder(points=points, boxes=boxes, masks=masks)
        low_res, iou = model.mask_decoder(image_embeddings=embedding.features,
                                          image_pe=model.prompt_encoder.get_dense_pe(),
                                          sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                          multimask_output=multimask)
        logits = upscale_masks(model, low_res, embedding)[0]
        stability = calculate_stability_score(logits, _MASK_THRESHOLD, _STABILITY_OFFSET)
    return Decoded(logits=logits.float().cpu().numpy(), predicted_iou=iou[0].float().cpu().numpy(),
                   stability=stability.float().cpu().numpy(), low_res=low_res[0].float().cpu().numpy(),
                   seconds=time.perf_counter() - start)


# ----------------------------------------------------------------------------- results


@dataclass
class SamSegmentation(Segmentation):
    """A :class:`~seglib.result.Segmentation` with SAM's extras.

    Attributes
    ----------
    low_res_logits : ndarray, (s, s), optional
        The chosen mask's low-resolution logits: pass them as
        ``mask_input=`` with the next, refined prompt.
    candidates : list of dict
        Per candidate (``sam``) or kept mask (``sam-auto``):
        ``predicted_iou``, ``stability``, ``area`` (working pixels) and, for
        ``sam``, ``chosen``.
    timings : dict
        ``encoder_s`` (0 on a cache hit), ``decoder_s``, ``cache_hit`` and,
        for ``sam-auto``, ``generate_s``, ``raw_cached``, ``filter_s``.
    """

    low_res_logits: np.ndarray | None = None
    candidates: list[dict] = field(default_factory=list)
    timings: dict = field(default_factory=dict)


MODEL_TYPE = Param(
    "model_type", "vit_b", choices=MODEL_TYPES,
    help="Size of SAM's image encoder: vit_b (91M parameters, 375 MB) is the fastest; vit_l and vit_h "
         "(636M, 2.5 GB) are a little more accurate and several times slower on a CPU.",
)
SAM_INPUTS = ("weights", "config")
PROMPT_NEEDS["sam"] = "point or box"
SAM_REFERENCE = "A. Kirillov et al., Segment Anything, ICCV 2023 (arXiv:2304.02643)."


def _timing_notes(embedding: Embedding, hit: bool, decoder_s: float, what: str = "decoder") -> list[str]:
    encoder = ("image embedding from the cache (encoder skipped)" if hit
               else f"image encoder {embedding.seconds:.2f} s (embedding cached for the next prompts)")
    return [f"SAM: {encoder}; {what} {decoder_s * 1000:.0f} ms."]


def _choose(candidate: str, decoded: Decoded) -> tuple[int, list[str]]:
    best = int(np.argmax(decoded.predicted_iou))
    if candidate == "best" or len(decoded.predicted_iou) == 1:
        note = [] if candidate in ("best", "1") else [f"Only one mask without multimask; candidate {candidate} "
                                                     "is not available."]
        return best, note
    return int(candidate) - 1, []


@register(
    "sam",
    title="Segment Anything (SAM)",
    family="interactive",
    kind="binary",
    params=(
        MODEL_TYPE,
        Param("multimask", True,
              help="Ask for three candidate masks (whole, part, sub-part). Best for a single click, which "
                   "is ambiguous; switch it off when several clicks or a box pin the object down."),
        Param("candidate", "best", choices=("best", "1", "2", "3"), shown_when={"multimask": True},
              help="Which candidate becomes the result: the one with the highest predicted IoU, or one "
                   "you pick after looking at the candidates' stages."),
    ),
    description="A foundation model trained on 11 million images and a billion masks to segment whatever a "
                "prompt points at. A heavy image encoder embeds the picture once; a light decoder turns each "
                "click or box into three candidate masks with its own estimate of their quality (predicted "
                "IoU) and a stability score.",
    references=(SAM_REFERENCE,),
    inputs=PROMPT_INPUTS + SAM_INPUTS + ("mask_input",),
)
def sam(image, *, points=None, box=None, original_shape=None, weights=None, config=None, mask_input=None,
        model_type, multimask, candidate):
    prompts, notes = working_prompts(image, points, box, original_shape, method="sam", need=PROMPT_NEEDS["sam"])
    loaded = load_sam(model_type, weights, config=config)
    embedding, hit = image_embedding(loaded, image)
    decoded = decode(loaded, embedding, prompts, multimask=multimask, mask_input=mask_input)
    chosen, extra = _choose(candidate, decoded)
    logits = decoded.logits[chosen]
    mask = logits > _MASK_THRESHOLD
    candidates = [{"predicted_iou": float(i), "stability": float(s), "area": int((m > _MASK_THRESHOLD).sum()),
                   "chosen": k == chosen}
                  for k, (i, s, m) in enumerate(zip(decoded.predicted_iou, decoded.stability, decoded.logits))]
    stages = {"prompts": draw_prompts(image, prompts)}
    for k, info in enumerate(candidates):
        stages[f"candidate {k + 1}: IoU {info['predicted_iou']:.2f}, stability {info['stability']:.2f}"] = \
            decoded.logits[k] > _MASK_THRESHOLD
    probability = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -50, 50)))
    stages["object probability"] = probability
    notes += _timing_notes(embedding, hit, decoded.seconds) + extra
    notes.append(f"{loaded.name}: candidate {chosen + 1} of {len(candidates)} (predicted IoU "
                 f"{candidates[chosen]['predicted_iou']:.2f})" + ("; refined with mask_input." if mask_input is not None
                                                                   else "."))
    return SamSegmentation(
        labels=mask.astype(np.int32), scores=probability, stages=stages, notes=notes,
        low_res_logits=decoded.low_res[chosen], candidates=candidates,
        timings={"encoder_s": 0.0 if hit else embedding.seconds, "decoder_s": decoded.seconds, "cache_hit": hit},
    )


# ----------------------------------------------------------------------------- automatic masks


@dataclass(frozen=True, eq=False)
class RawMasks:
    """Every mask SAM proposed from a grid of points, before any filtering.

    Masks are COCO RLEs (pycocotools) at the image's size; the other fields
    have one entry per mask.
    """

    rles: list
    predicted_iou: np.ndarray
    stability: np.ndarray
    area: np.ndarray
    boxes: np.ndarray        # (N, 4) x0, y0, x1, y1
    points: np.ndarray       # (N, 2) the grid point that produced each mask
    grid: np.ndarray         # (P, 2) all grid points
    shape: tuple[int, int]
    seconds: float


def point_grid(points_per_side: int, shape: tuple[int, int]) -> np.ndarray:
    """SAM's evenly spaced ``points_per_side`` x ``points_per_side`` grid, as (x, y) in pixels of ``shape``."""
    offset = 1 / (2 * points_per_side)
    steps = np.linspace(offset, 1 - offset, points_per_side)
    xs, ys = np.meshgrid(steps, steps)
    return np.stack([xs.ravel() * shape[1], ys.ravel() * shape[0]], axis=1)


def upscale_masks(model, low_res, embedding: Embedding):
    """SAM's ``postprocess_masks``: low-resolution logits up to the encoder's square, cropped to the
    resized image, then resized to the original size, a step skipped when the sizes already agree
    (an image whose longest side is the encoder's, the dashboard's usual case): resizing to the same
    size changes nothing but cost a tenth of a prompt's time."""
    import torch.nn.functional as F

    side = model.image_encoder.img_size
    masks = F.interpolate(low_res, (side, side), mode="bilinear", align_corners=False)
    masks = masks[..., :embedding.input_size[0], :embedding.input_size[1]]
    if tuple(embedding.input_size) != tuple(embedding.original_size):
        masks = F.interpolate(masks, embedding.original_size, mode="bilinear", align_corners=False)
    return masks


def _decode_grid_batch(loaded: LoadedSam, embedding: Embedding, points: np.ndarray):
    """Three masks per point for a batch of single-click prompts: (logits, predicted IoU), flattened."""
    import torch
    from segment_anything.utils.transforms import ResizeLongestSide

    model, device = loaded.model, loaded.device
    coords = ResizeLongestSide(loaded.config.image_size).apply_coords(points, embedding.original_size)
    coords = torch.as_tensor(coords, dtype=torch.float32, device=device)[:, None, :]
    labels = torch.ones(len(points), 1, dtype=torch.int, device=device)
    sparse, dense = model.prompt_encoder(points=(coords, labels), boxes=None, masks=None)
    low_res, iou = model.mask_decoder(image_embeddings=embedding.features, image_pe=model.prompt_encoder.get_dense_pe(),
                                      sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                      multimask_output=True)
    logits = upscale_masks(model, low_res, embedding)
    return logits.flatten(0, 1), iou.flatten()


def generate_raw_masks(loaded: LoadedSam, embedding: Embedding, points_per_side: int) -> RawMasks:
    """Decode three masks for every point of the grid and keep them all, compressed.

    Unlike ``SamAutomaticMaskGenerator``, nothing is thresholded here: the
    predicted IoU, stability, area and box of each mask are stored, so
    :func:`filter_masks` can apply any thresholds later without the decoder.
    """
    import torch
    from pycocotools import mask as coco_mask
    from segment_anything.utils.amg import batched_mask_to_box, calculate_stability_score

    start = time.perf_counter()
    shape = embedding.original_size
    grid = point_grid(points_per_side, shape)
    rles, ious, stabilities, areas, boxes, sources = [], [], [], [], [], []
    with torch.inference_mode(), decoder_threads():
        for first in range(0, len(grid), _AUTO_BATCH):
            batch = grid[first:first + _AUTO_BATCH]
            logits, iou = _decode_grid_batch(loaded, embedding, batch)
            done = first + len(batch)
            progress.report(done / len(grid), f"SAM automatic masks: {done} of {len(grid)} grid points decoded")
            masks = logits > _MASK_THRESHOLD
            area = masks.flatten(1).sum(1)
            keep = area > 0
            if not keep.any():
                continue
            masks, logits = masks[keep], logits[keep]
            stabilities.append(calculate_stability_score(logits, _MASK_THRESHOLD, _STABILITY_OFFSET).cpu().numpy())
            ious.append(iou[keep].float().cpu().numpy())
            areas.append(area[keep].cpu().numpy())
            boxes.append(batched_mask_to_box(masks).cpu().numpy())
            sources.append(np.repeat(batch, 3, axis=0)[keep.cpu().numpy()])
            stack = np.asfortranarray(masks.permute(1, 2, 0).cpu().numpy().astype(np.uint8))
            rles.extend(coco_mask.encode(stack))
    join = lambda parts, width: np.concatenate(parts) if parts else np.zeros((0,) + width)  # noqa: E731
    return RawMasks(rles=rles, predicted_iou=join(ious, ()), stability=join(stabilities, ()),
                    area=join(areas, ()).astype(np.int64), boxes=join(boxes, (4,)), points=join(sources, (2,)),
                    grid=grid, shape=tuple(shape), seconds=time.perf_counter() - start)


def filter_masks(raw: RawMasks, *, pred_iou_thresh: float, stability_score_thresh: float, box_nms_thresh: float,
                 min_mask_region_area: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Apply SAM's filters to raw masks and paint the survivors into one instance map.

    Masks below either threshold or smaller than ``min_mask_region_area``
    go; box non-maximum suppression (scored by predicted IoU) removes
    duplicates; the rest are painted largest first, so smaller masks lie on
    top. Islands of a label smaller than ``min_mask_region_area`` are erased,
    and masks that end up hidden are dropped.

    Returns
    -------
    labels : ndarray of int32, (H, W)
        1 = the largest visible mask, then by decreasing area; 0 = no mask.
    kept : ndarray of int
        Indices into ``raw`` of the painted masks, in label order.
    """
    import torch
    from pycocotools import mask as coco_mask
    from torchvision.ops import nms

    keep = np.flatnonzero((raw.predicted_iou >= pred_iou_thresh) & (raw.stability >= stability_score_thresh)
                          & (raw.area >= max(min_mask_region_area, 1)))
    if keep.size > 1:
        survivors = nms(torch.as_tensor(raw.boxes[keep], dtype=torch.float32),
                        torch.as_tensor(raw.predicted_iou[keep], dtype=torch.float32), float(box_nms_thresh))
        keep = keep[survivors.numpy()]
    kept = keep[np.argsort(-raw.area[keep], kind="stable")]
    labels = np.zeros(raw.shape, dtype=np.int32)
    for label, index in enumerate(kept, start=1):
        labels[coco_mask.decode(raw.rles[index]).astype(bool)] = label
    if min_mask_region_area > 0 and kept.size:
        labels = _erase_islands(labels, min_mask_region_area)
    return _drop_hidden(labels, kept)


def _drop_hidden(labels: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber labels 1..K over the masks still visible after painting (others lie fully under smaller ones)."""
    visible = np.flatnonzero(np.bincount(labels.ravel(), minlength=kept.size + 1)[1:])
    lookup = np.zeros(kept.size + 1, dtype=np.int32)
    lookup[visible + 1] = np.arange(1, visible.size + 1)
    return lookup[labels], kept[visible]


def _erase_islands(labels: np.ndarray, min_area: int) -> np.ndarray:
    from skimage.measure import label as connected

    pieces = connected(labels, background=0, connectivity=1)
    sizes = np.bincount(pieces.ravel())
    small = sizes < min_area
    small[0] = False
    return np.where(small[pieces], 0, labels).astype(np.int32)


def raw_masks(loaded: LoadedSam, image: np.ndarray, points_per_side: int) -> tuple[RawMasks, Embedding, bool, bool]:
    """Raw masks of ``image`` (cached per image, model and grid); also the embedding and both cache hits."""
    key = (fingerprint(image), loaded.key, int(points_per_side))
    embedding, hit = image_embedding(loaded, image)
    raw = _raw_masks.get(key)
    if raw is not None:
        return raw, embedding, hit, True
    raw = generate_raw_masks(loaded, embedding, points_per_side)
    _raw_masks.put(key, raw)
    return raw, embedding, hit, False


def _histogram(values: np.ndarray, threshold: float, name: str) -> Curve:
    counts, edges = np.histogram(values, bins=50, range=(min(0.0, float(values.min(initial=0))), 1.0))
    return Curve((edges[:-1] + edges[1:]) / 2, {"raw masks": counts.astype(np.float64)}, {"threshold": threshold},
                 name, "masks")


def _mask_cloud(raw: RawMasks, kept: np.ndarray) -> Points:
    labels = np.zeros(len(raw.area), dtype=int)
    labels[kept] = 1
    cloud = np.stack([raw.predicted_iou, raw.stability, np.log10(np.maximum(raw.area, 1))], axis=1)
    if len(cloud) > 3000:
        pick = np.random.default_rng(0).choice(len(cloud), 3000, replace=False)
        cloud, labels = cloud[pick], labels[pick]
    return Points(cloud, labels, axis_names=("predicted IoU", "stability", "log10 area"))


@register(
    "sam-auto",
    title="Segment Anything: everything (automatic masks)",
    family="interactive",
    kind="instance",
    params=(
        MODEL_TYPE,
        Param("points_per_side", 16, low=4, high=64,
              help="SAM is clicked at every point of an n x n grid (three masks per click). 32 is SAM's "
                   "default and finds small things; each doubling costs four times the decoder time."),
        Param("pred_iou_thresh", 0.86, low=0.0, high=1.0, step=0.01,
              help="Keep masks whose predicted IoU (SAM's own quality estimate) is at least this. Moving "
                   "it re-filters the stored masks instantly."),
        Param("stability_score_thresh", 0.92, low=0.0, high=1.0, step=0.01,
              help="Keep masks that barely change when the logit cut-off moves by one (IoU of the masks "
                   "at -1 and +1). Lower it to keep fuzzier objects."),
        Param("box_nms_thresh", 0.7, low=0.05, high=1.0, step=0.05,
              help="Two masks whose boxes overlap more than this (IoU) are duplicates: the one with the "
                   "lower predicted IoU goes. Lower values remove more."),
        Param("min_mask_region_area", 0, low=0, high=20000, step=10,
              help="Drop masks smaller than this (working-image pixels) and erase islands smaller than "
                   "this from the result."),
    ),
    description="Segment everything: SAM is prompted with a grid of single clicks, each giving three "
                "masks. Masks SAM itself doubts (low predicted IoU), unstable ones and duplicates are "
                "filtered out, and the rest become instances. The raw masks are kept, so the filter "
                "sliders re-filter without running the network.",
    references=(SAM_REFERENCE,),
    inputs=("original_shape",) + SAM_INPUTS,
)
def sam_auto(image, *, original_shape=None, weights=None, config=None, model_type, points_per_side,
             pred_iou_thresh, stability_score_thresh, box_nms_thresh, min_mask_region_area):
    loaded = load_sam(model_type, weights, config=config)
    raw, embedding, hit, raw_hit = raw_masks(loaded, image, points_per_side)
    start = time.perf_counter()
    labels, kept = filter_masks(raw, pred_iou_thresh=pred_iou_thresh, stability_score_thresh=stability_score_thresh,
                                box_nms_thresh=box_nms_thresh, min_mask_region_area=min_mask_region_area)
    filter_s = time.perf_counter() - start
    grid = parse_prompts([(x, y, 1) for x, y in raw.grid], shape=raw.shape)
    stages = {"point grid": draw_prompts(image, grid, radius=max(1, round(max(raw.shape) / 300))),
              "predicted IoU of the raw masks": _histogram(raw.predicted_iou, pred_iou_thresh, "predicted IoU"),
              "stability of the raw masks": _histogram(raw.stability, stability_score_thresh, "stability score"),
              "raw masks (1 = kept)": _mask_cloud(raw, kept)}
    notes = (_timing_notes(embedding, hit, 0.0 if raw_hit else raw.seconds, what="grid decoding")
             + [("Raw masks from the cache: only the filters ran" if raw_hit else
                 f"{len(raw.grid)} grid points gave {len(raw.area)} raw masks")
                + f"; {kept.size} kept after the thresholds and NMS (filtering {filter_s * 1000:.0f} ms)."])
    return SamSegmentation(
        labels=labels, stages=stages, notes=notes,
        candidates=[{"predicted_iou": float(raw.predicted_iou[i]), "stability": float(raw.stability[i]),
                     "area": int(raw.area[i])} for i in kept],
        timings={"encoder_s": 0.0 if hit else embedding.seconds, "cache_hit": hit,
                 "generate_s": 0.0 if raw_hit else raw.seconds, "raw_cached": raw_hit, "filter_s": filter_s,
                 "decoder_s": 0.0 if raw_hit else raw.seconds},
    )
