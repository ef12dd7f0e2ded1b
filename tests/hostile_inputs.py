"""Hostile inputs crafted in memory, shared by tests/test_hostile.py and benchmarks/bench_hostile.py.

Each builder returns bytes (or writes files under a folder it is given) that a
hostile upload or dataset could hold: small files that declare or expand to a
lot of work. Nothing here touches the network.
"""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import scipy.io
from PIL import Image


def progressive_jpeg(shape=(64, 64), repeats: int = 3000) -> bytes:
    """A progressive JPEG whose last scan is repeated ``repeats`` times (each scan is a pass over the picture)."""
    picture = np.zeros(shape + (3,), dtype=np.uint8)
    picture[: shape[0] // 2] = 200
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", progressive=True, quality=90)
    data = buffer.getvalue()
    last = data.rindex(b"\xff\xda")
    return data[:-2] + data[last:-2] * repeats + b"\xff\xd9"


def png_chunks(width: int, height: int, bit_depth: int, colour_type: int, raw_rows) -> bytes:
    """A PNG built chunk by chunk, its pixel rows streamed through zlib (a bomb stays small)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for row in raw_rows]
    idat = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png_bomb(side: int = 15000) -> bytes:
    """A 1-bit PNG of ``side`` x ``side`` zeros: a few tens of KB that Pillow refuses as a decompression bomb."""
    row = b"\x00" * (1 + (side + 7) // 8)
    return png_chunks(side, side, 1, 0, (row for _ in range(side)))


def big_gray_png(width: int, height: int) -> bytes:
    """An 8-bit gray PNG of zeros: small on disk, ``width * height`` pixels once decoded."""
    row = b"\x00" * (1 + width)
    return png_chunks(width, height, 8, 0, (row for _ in range(height)))


def png_text_bomb() -> bytes:
    """A tiny PNG whose zTXt chunk inflates to 64 MB (Pillow's limit is 1 MB)."""
    ztxt = b"comment\x00\x00" + zlib.compress(b" " * (64 << 20), 9)
    good = io.BytesIO()
    Image.new("L", (4, 4)).save(good, "PNG")
    data = good.getvalue()
    body = ztxt
    chunk = struct.pack(">I", len(body)) + b"zTXt" + body + struct.pack(">I", zlib.crc32(b"zTXt" + body) & 0xFFFFFFFF)
    at = data.index(b"IDAT") - 4
    return data[:at] + chunk + data[at:]


# --------------------------------------------------------------------------- .mat files


def bsds_cells(segs) -> np.ndarray:
    cells = np.empty((1, len(segs)), dtype=object)
    for k, seg in enumerate(segs):
        record = np.empty((1, 1), dtype=[("Segmentation", object), ("Boundaries", object)])
        record[0, 0] = (seg, np.zeros(seg.shape, dtype=np.uint8))
        cells[0, k] = record
    return cells


def mat_file(variables: dict, compress: bool = True) -> bytes:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, do_compression=compress)
    return buffer.getvalue()


def mat_with_decoy(decoy_bytes: int = 64 << 20) -> bytes:
    """A BSDS file whose first variable is ``decoy_bytes`` of zeros (compressed to a few hundred KB)."""
    side = int(np.sqrt(decoy_bytes))
    seg = np.ones((20, 30), dtype=np.uint16)
    return mat_file({"decoy": np.zeros((side, side), dtype=np.uint8), "groundTruth": bsds_cells([seg])})


def mat_declaring(declared: int, name: bytes = b"groundTruth", array_class: int = 1, dims=(1, 1)) -> bytes:
    """A MAT 5 file with one compressed variable whose header declares ``declared`` bytes."""
    def element(kind: int, body: bytes) -> bytes:
        return struct.pack("<II", kind, len(body)) + body + b"\x00" * (-len(body) % 8)

    inner = element(6, struct.pack("<II", array_class, 0)) + element(5, struct.pack(f"<{len(dims)}i", *dims))
    inner += element(1, name)
    matrix = struct.pack("<II", 14, declared) + inner + b"\x00" * 4096
    compressed = zlib.compress(matrix)
    header = b"MATLAB 5.0 MAT-file, crafted".ljust(116, b" ") + b"\x00" * 8 + b"\x00\x01IM"
    return header + struct.pack("<II", 15, len(compressed)) + compressed


# --------------------------------------------------------------------------- COCO


def coco_polygons(n: int = 600, side: int = 2000) -> bytes:
    """``n`` tiny triangles on a ``side`` x ``side`` image: about 60 KB of JSON."""
    rng = np.random.default_rng(0)
    annotations = []
    for k in range(n):
        x, y = (float(v) for v in rng.uniform(0, side - 10, 2))
        annotations.append({"id": k + 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                            "segmentation": [[x, y, x + 6, y, x + 3, y + 6]]})
    return coco_bytes(annotations, side, side)


def coco_bytes(annotations, height: int, width: int, categories=None) -> bytes:
    doc = {"images": [{"id": 1, "height": height, "width": width, "file_name": "a.jpg"}],
           "annotations": annotations,
           "categories": categories or [{"id": 1, "name": "thing"}]}
    return json.dumps(doc).encode()


def full_rle(height: int, width: int) -> dict:
    """An uncompressed RLE covering the whole image (one background run of 0, one foreground run)."""
    return {"size": [height, width], "counts": [0, height * width]}


def quadratic_rle(length: int = 1_300_000) -> str:
    """A compressed RLE string that is one endless run (every character says "more follows")."""
    return "o" * length + "0"


def nested_json(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


def tiff_strips(n: int = 5_000_000) -> bytes:
    """A 1 x ``n`` gray TIFF stored as ``n`` one-pixel strips (Pillow makes a Python tile of each)."""
    def entry(tag, kind, count, value):
        return struct.pack("<HHII", tag, kind, count, value)

    data_at = 8 + 2 + 12 * 8 + 4
    ifd = [entry(256, 4, 1, 1), entry(257, 4, 1, n), entry(258, 3, 1, 8), entry(259, 3, 1, 1),
           entry(262, 3, 1, 1), entry(273, 4, n, data_at), entry(278, 4, 1, 1), entry(279, 4, n, data_at + 4 * n)]
    head = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(ifd)) + b"".join(ifd) + b"\x00" * 4
    return head + b"\x00" * (4 * n) + struct.pack("<I", 1) * n


def gif_with_frames(n: int = 100_000) -> bytes:
    """A 2 x 2 GIF of ``n`` + 1 frames (a frame is 24 bytes; Pillow's ``n_frames`` reads every one)."""
    frames = [Image.fromarray(np.full((2, 2), k * 80, np.uint8)).convert("P") for k in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=10, optimize=False)
    data = buffer.getvalue()
    starts = [i for i in range(len(data)) if data[i:i + 2] == b"!\xf9"]
    return data[:starts[2]] + data[starts[1]:starts[2]] * n + data[starts[2]:]


def png_with_empty_chunks(n: int = 500_000) -> bytes:
    """A 4 x 4 PNG with ``n`` empty ancillary chunks before its pixels (12 bytes each)."""
    buffer = io.BytesIO()
    Image.new("L", (4, 4)).save(buffer, "PNG")
    good = buffer.getvalue()
    at = good.index(b"IDAT") - 4
    empty = struct.pack(">I", 0) + b"abCd" + struct.pack(">I", zlib.crc32(b"abCd") & 0xFFFFFFFF)
    return good[:at] + empty * n + good[at:]


def jpeg_with_segments(segment: bytes = b"\xff\xfe\x00\x02", n: int = 2_000_000) -> bytes:
    """An 8 x 8 JPEG with ``n`` copies of an empty header segment (a COM segment by default) after SOI."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG")
    picture = buffer.getvalue()
    return picture[:2] + segment * n + picture[2:]
