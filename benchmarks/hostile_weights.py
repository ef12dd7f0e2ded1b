"""Hostile weights files: tiny files that describe huge or inconsistent networks, and readers that never end.

Each case crafts its file itself (no download) and calls the library the way
a page does; every one must end in a ``ValueError`` that says what was wrong,
within a fraction of a second and without allocating what the file declares.
``tests/deep/test_hostile_weights.py`` asserts the errors;
``benchmarks/bench_hostile.py`` times them (rows "weights: ..."), each in a
fresh process with its peak memory:

    python -m benchmarks.bench_hostile --only weights
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from typing import Callable

import numpy as np

IMAGE = np.zeros((32, 32, 3), dtype=np.uint8)


def safetensors_file(tensors: dict[str, tuple[tuple[int, ...], bytes]], metadata: dict[str, str]) -> bytes:
    """A safetensors file written by hand: ``name -> (shape, raw float32 bytes)`` and string metadata."""
    header: dict = {"__metadata__": metadata}
    offset, payload = 0, b""
    for name, (shape, data) in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        payload += data
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + payload


def tiny_tensor() -> dict:
    return {"w": ((1,), bytes(4))}


def bundled_metadata(arch: str, config, **extra) -> dict[str, str]:
    return {"arch": arch, "config": config if isinstance(config, str) else json.dumps(config), **extra}


def sam_metadata(config) -> dict[str, str]:
    return {"arch": "sam", "sam_config": config if isinstance(config, str) else json.dumps(config)}


def _call(method: str, data, **params) -> Callable[[], None]:
    """The timed call: ``method`` run on a small picture with ``data`` as its weights.

    What a running server has already imported (the methods, torch, the model
    code) is imported here, before the call, so the time and memory measured
    are the file's alone.
    """
    import seglib
    import seglib.deep.checkpoints  # noqa: F401 - torch and safetensors
    import torchvision.models  # noqa: F401
    from segment_anything import modeling  # noqa: F401

    seglib.methods()
    extra = {"points": [(5, 5, 1)]} if method == "sam" else {}
    return lambda: seglib.segment(IMAGE, method, weights=data, **extra, **params)


def _tiny_sam_config(**changes) -> dict:
    from seglib.deep.sam import TINY_CONFIG

    return {**json.loads(TINY_CONFIG.to_json()), **changes}


def _vit_h_claim() -> bytes:
    """A file that claims to be SAM vit_h (its 32 encoder blocks named) with one-number tensors."""
    names = ["image_encoder.patch_embed.proj.weight"] + [f"image_encoder.blocks.{i}.norm1.weight" for i in range(32)]
    tensors = {name: ((1280, 3, 16, 16) if i == 0 else (1,), bytes(4 * (1280 * 3 * 16 * 16 if i == 0 else 1)))
               for i, name in enumerate(names)}
    return safetensors_file(tensors, {})


def _compressed_torch_zip() -> bytes:
    """A torch.save file whose zip entries are deflated: 40 MB of zeros packed into about 40 KB."""
    import torch

    buffer = io.BytesIO()
    torch.save({"backbone.weight": torch.zeros(10_000_000)}, buffer)
    packed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, \
            zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    return packed.getvalue()


class _Endless(io.RawIOBase):
    name = "an endless file object"

    def readable(self):
        return True

    def read(self, n=-1):
        return bytes(1 << 20 if n is None or n < 0 else n)


def cases() -> list[tuple[str, str, Callable[[], Callable[[], None]]]]:
    """``(name, the expected error's text, make)`` for every hostile weights case.

    ``make()`` crafts the input and returns the call to time, which raises
    a ``ValueError`` holding the expected text.
    """
    bundled = [
        ("unet declares width 256 depth 6, 1000 classes (8 billion parameters)", "at most 32,000,000 are allowed",
         {"n_classes": 1000, "width": 256, "depth": 6}),
        ("unet declares in_channels 1e9", "is not allowed: expected an object of", {"n_classes": 4,
                                                                                     "in_channels": 10**9,
                                                                                     "width": 8, "depth": 2}),
        ("segnet declares n_classes 1e9", "n_classes=1000000000 is not allowed",
         {"n_classes": 10**9, "width": 8, "depth": 2}),
        ("deeplabv3 declares a million ASPP rates", "expected 1 to 8 integers",
         {"n_classes": 4, "width": 8, "depth": 2, "rates": list(range(1, 10**6))}),
        ("deeplabv3 declares rate 1e9 (padding as large)", "expected 1 to 8 integers",
         {"n_classes": 4, "width": 8, "depth": 2, "rates": [10**9]}),
        ("unet declares depth as text", "depth='6' is not allowed", {"n_classes": 4, "width": 8, "depth": "6"}),
        ("unet declares an unknown size", "cannot be built", {"n_classes": 4, "width": 8, "depth": 2, "heads": 99}),
        ("unet config is a list", "expected an object of", [1, 2, 3]),
        ("unet config is not JSON", "not valid JSON", "{width: 9"),
        ("unet config nested 100,000 levels deep (was RecursionError)", "nested too deeply",
         "[" * 100_000 + "]" * 100_000),
        ("unet within budget, tensors of another size", "do not fit UNet", {"n_classes": 4, "width": 8, "depth": 2}),
    ]
    out = []
    for name, expected, config in bundled:
        arch = name.split()[0]
        out.append((name, expected, lambda arch=arch, config=config: _call(
            arch, safetensors_file(tiny_tensor(), bundled_metadata(arch, config)))))
    out.append(("unet declares input_size 1e12", "input_size=1000000000000 is not allowed",
                lambda: _call("unet", safetensors_file(tiny_tensor(), bundled_metadata(
                    "unet", {"n_classes": 4, "width": 8, "depth": 2}, input_size="1000000000000")))))
    sam = [
        ("sam config: encoder width 1e6", "encoder_embed_dim=1000000 is not allowed",
         _tiny_sam_config(encoder_embed_dim=10**6)),
        ("sam config: depth 1e5", "encoder_depth=100000 is not allowed", _tiny_sam_config(encoder_depth=10**5)),
        ("sam config: patch_size 0 (was ZeroDivisionError)", "patch_size=0 is not allowed",
         _tiny_sam_config(patch_size=0)),
        ("sam config: no attention heads (was ZeroDivisionError)", "encoder_num_heads=0 is not allowed",
         _tiny_sam_config(encoder_num_heads=0)),
        ("sam config: image_size not a multiple of patch_size", "must be a multiple of patch_size",
         _tiny_sam_config(image_size=70)),
        ("sam config: patch 1 (a 1024 x 1024 token grid)", "grid of at most 64 patches",
         _tiny_sam_config(image_size=1024, patch_size=1)),
        ("sam config: heads that do not divide the width", "must be a multiple of encoder_num_heads",
         _tiny_sam_config(encoder_num_heads=3)),
        ("sam config: decoder width not a multiple of 8", "prompt_embed_dim (12) must be a multiple of 8",
         _tiny_sam_config(prompt_embed_dim=12)),
        ("sam config: global attention at block 1e9", "encoder_global_attn_indexes=",
         _tiny_sam_config(encoder_global_attn_indexes=[10**9])),
        ("sam config: a boolean size", "encoder_depth=True is not allowed", _tiny_sam_config(encoder_depth=True)),
        ("sam config: a list", "expected a mapping", [1, 2]),
        ("sam config: unknown field", "unknown fields", _tiny_sam_config(encoder_width=3)),
        ("sam config nested 100,000 levels deep (was RecursionError)", "nested too deeply",
         '{"a": ' * 100_000 + "1" + "}" * 100_000),
    ]
    for name, expected, config in sam:
        out.append((name, expected, lambda config=config: _call(
            "sam", safetensors_file(tiny_tensor(), sam_metadata(config)))))
    out += [
        ("sam: a file naming vit_h's 32 blocks with one-number tensors", "do not fit Sam",
         lambda: _call("sam", _vit_h_claim(), model_type="vit_h")),
        ("tv-lraspp: torch zip with deflated entries (40 MB of zeros in ~40 KB)", "compressed entries",
         lambda: _call("tv-lraspp", _compressed_torch_zip())),
        ("unet: an endless file object", "pass the file's path instead", lambda: _call("unet", _Endless())),
    ]
    return out
