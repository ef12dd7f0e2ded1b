"""seglib.io.images: the one safe door for pictures."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from seglib.io import LoadedImage, load_image, load_image_with_info
from seglib.io.images import ACCEPTED_FORMATS, rescale_to_uint8

LOSSLESS = ("PNG", "TIFF", "BMP", "WEBP")


def encode(picture: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gradient_rgb(height=12, width=20) -> np.ndarray:
    """Distinct, smooth RGB values (survive JPEG roughly)."""
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([rows * 255 // (height - 1), cols * 255 // (width - 1),
                     np.full_like(rows, 100)], axis=-1).astype(np.uint8)


def noise_png(size=64) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return encode(Image.fromarray(pixels), "PNG")


def png_with_header_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose IHDR claims width x height (CRC recomputed)."""
    data = bytearray(encode(Image.new("1", (8, 8)), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


# --------------------------------------------------------------------------- accepted formats


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF"])
def test_accepted_formats_decode_to_rgb_uint8(fmt):
    pixels = gradient_rgb()
    options = {"lossless": True} if fmt == "WEBP" else {}
    info = load_image_with_info(encode(Image.fromarray(pixels), fmt, **options))
    assert isinstance(info, LoadedImage)
    assert info.format == fmt
    assert info.original_size == (12, 20)
    assert info.image.shape == (12, 20, 3) and info.image.dtype == np.uint8
    assert info.image.flags.writeable
    if fmt in LOSSLESS:
        np.testing.assert_array_equal(info.image, pixels)
    else:  # JPEG is lossy, GIF quantises to 256 colours
        assert np.abs(info.image.astype(int) - pixels).mean() < 12


def test_format_is_decided_by_content_not_extension(tmp_path):
    path = tmp_path / "really_a_jpeg.png"
    path.write_bytes(encode(Image.fromarray(gradient_rgb()), "JPEG"))
    assert load_image_with_info(path).format == "JPEG"


def test_gray_image_becomes_three_equal_channels():
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    image = load_image(encode(Image.fromarray(gray), "PNG"))
    for channel in range(3):
        np.testing.assert_array_equal(image[..., channel], gray)


# --------------------------------------------------------------------------- sources


@pytest.fixture
def png_bytes():
    return encode(Image.fromarray(gradient_rgb()), "PNG")


def test_path_as_str_and_pathlike(tmp_path, png_bytes):
    path = tmp_path / "picture.bin"
    path.write_bytes(png_bytes)
    np.testing.assert_array_equal(load_image(str(path)), load_image(path))
    np.testing.assert_array_equal(load_image(path), gradient_rgb())


def test_bytes_like_sources(png_bytes):
    for source in (png_bytes, bytearray(png_bytes), memoryview(png_bytes)):
        np.testing.assert_array_equal(load_image(source), gradient_rgb())


def test_open_file_is_rewound_restored_and_left_open(tmp_path, png_bytes):
    path = tmp_path / "picture.png"
    path.write_bytes(png_bytes)
    with open(path, "rb") as handle:
        handle.seek(7)
        np.testing.assert_array_equal(load_image(handle), gradient_rgb())
        assert not handle.closed
        assert handle.tell() == 7


def test_bytesio_position_kept_and_readable_again(png_bytes):
    buffer = io.BytesIO(png_bytes)
    buffer.seek(5)
    load_image(buffer)
    assert buffer.tell() == 5 and not buffer.closed
    assert load_image(buffer).shape == (12, 20, 3)


class UploadedFileLike:
    """The parts of Streamlit's UploadedFile that matter: getvalue(), read(), name."""

    def __init__(self, data: bytes, name: str):
        self._buffer = io.BytesIO(data)
        self.name = name

    def getvalue(self):
        return self._buffer.getvalue()

    def read(self, size=-1):
        return self._buffer.read(size)

    def tell(self):
        return self._buffer.tell()


def test_uploaded_file_like_object(png_bytes):
    upload = UploadedFileLike(png_bytes, "holiday.jpg")
    np.testing.assert_array_equal(load_image(upload), gradient_rgb())
    assert upload.tell() == 0  # not consumed: another widget may read it again


class ForwardOnlyReader:
    """A non-seekable stream (e.g. a pipe)."""

    def __init__(self, data: bytes):
        self._buffer = io.BytesIO(data)

    def read(self, size=-1):
        return self._buffer.read(size)

    def seekable(self):
        return False


def test_non_seekable_stream(png_bytes):
    np.testing.assert_array_equal(load_image(ForwardOnlyReader(png_bytes)), gradient_rgb())


def test_text_mode_file_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with open(path) as handle, pytest.raises(ValueError, match="text-mode.*binary"):
        load_image(handle)


@pytest.mark.parametrize("source", [42, None, 3.5, ["a.png"]])
def test_unsupported_source_type(source):
    with pytest.raises(TypeError, match="`source` is a .*expected a path"):
        load_image(source)


def test_missing_path(tmp_path):
    with pytest.raises(ValueError, match="not an existing file"):
        load_image(tmp_path / "nowhere.png")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("source", [b"", io.BytesIO(b"")])
def test_empty_input(source):
    with pytest.raises(ValueError, match=r"empty \(0 bytes\).*PNG, JPEG"):
        load_image(source)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_image(path)


def test_random_bytes():
    data = np.random.default_rng(3).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    with pytest.raises(ValueError, match="unrecognised data.*expected a PNG, JPEG, TIFF, BMP, WebP or GIF"):
        load_image(b"\x00\x01" + data)


@pytest.mark.parametrize("data, detected", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF document"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIC"),
])
def test_non_images_are_named(data, detected):
    with pytest.raises(ValueError, match=f"{detected}.*expected a PNG"):
        load_image(data)


def test_pillow_format_outside_allow_list_is_named():
    ico = encode(Image.fromarray(gradient_rgb(16, 16)), "ICO")
    with pytest.raises(ValueError, match="ICO image.*not accepted.*expected a PNG"):
        load_image(ico)


def test_truncated_png():
    data = noise_png()
    with pytest.raises(ValueError, match="PNG data could not be decoded.*truncated or corrupt"):
        load_image(data[: len(data) // 2])


def test_truncated_jpeg():
    pixels = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(Image.fromarray(pixels), "JPEG", quality=95)
    with pytest.raises(ValueError, match="JPEG data could not be decoded"):
        load_image(data[: len(data) // 2])


def test_damaged_header_of_accepted_format():
    with pytest.raises(ValueError, match="damaged|truncated"):
        load_image(b"GIF89a")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns on open above 89 MP
def test_header_over_pixel_cap_is_refused_before_decoding():
    with pytest.raises(ValueError, match=r"12000 x 9000 = 108\.0 MP; the limit is 40 MP"):
        load_image(png_with_header_size(12000, 9000))


def test_decompression_bomb_header():
    with pytest.raises(ValueError, match="too large.*limit is 40 MP"):
        load_image(png_with_header_size(20000, 20000))


def test_custom_pixel_cap():
    data = encode(Image.fromarray(gradient_rgb()), "PNG")  # 20 x 12 = 240 pixels
    assert load_image(data, max_pixels=240).shape == (12, 20, 3)
    with pytest.raises(ValueError, match=r"20 x 12 .*the limit is 0\.0002 MP"):
        load_image(data, max_pixels=200)


def test_byte_cap(tmp_path, png_bytes):
    path = tmp_path / "big.png"
    path.write_bytes(png_bytes)
    for source in (png_bytes, path, io.BytesIO(png_bytes)):
        with pytest.raises(ValueError, match=f"file is {len(png_bytes)} bytes; the limit is 20 bytes"):
            load_image(source, max_bytes=20)


@pytest.mark.parametrize("name, value", [("max_pixels", 0), ("max_bytes", -1), ("max_pixels", 2.5)])
def test_invalid_limits(name, value, png_bytes):
    with pytest.raises(ValueError, match=f"`{name}`=.* is not allowed: expected an integer >= 1"):
        load_image(png_bytes, **{name: value})


def test_accepted_formats_constant():
    assert set(ACCEPTED_FORMATS) == {"PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF"}


# --------------------------------------------------------------------------- orientation


def test_exif_orientation_is_applied():
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :10] = (255, 0, 0)  # red band on the left of the stored picture
    picture = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    info = load_image_with_info(encode(picture, "JPEG", exif=exif.tobytes(), quality=95))
    assert info.original_size == (20, 40)
    assert info.image.shape == (40, 20, 3)
    top, bottom = info.image[:8].astype(int), info.image[-8:].astype(int)
    assert top[..., 0].mean() > 200 and bottom[..., 0].mean() < 50  # left band is now on top
    assert any("EXIF orientation" in notice for notice in info.notices)


def test_no_orientation_no_notice(png_bytes):
    assert load_image_with_info(png_bytes).notices == []


# --------------------------------------------------------------------------- bit depth


def test_16bit_png_full_range_is_rescaled_not_clipped():
    values = np.linspace(0, 65535, 16 * 16).round().astype(np.uint16).reshape(16, 16)
    info = load_image_with_info(encode(Image.fromarray(values), "PNG"))
    gray = info.image[..., 0].ravel().astype(int)
    assert info.mode.startswith("I")
    assert gray[0] == 0 and gray[-1] == 255
    assert np.all(np.diff(gray) >= 0)  # monotonic
    assert len(np.unique(gray)) > 200  # spread over the range, not clipped to 255
    assert any("16-bit" in notice for notice in info.notices)


def test_12bit_data_in_16bit_png_fills_8_bits():
    values = np.linspace(0, 4095, 64).round().astype(np.uint16).reshape(8, 8)
    gray = load_image(encode(Image.fromarray(values), "PNG"))[..., 0].ravel()
    assert gray[0] == 0 and gray[-1] == 255 and np.all(np.diff(gray.astype(int)) >= 0)


def test_float_tiff_outside_unit_range_is_stretched():
    values = np.linspace(-5.0, 300.0, 64, dtype=np.float32).reshape(8, 8)
    info = load_image_with_info(encode(Image.fromarray(values), "TIFF"))
    gray = info.image[..., 0].ravel().astype(int)
    assert info.mode == "F"
    assert gray[0] == 0 and gray[-1] == 255 and np.all(np.diff(gray) > 0)
    assert any("stretched" in notice for notice in info.notices)


def test_float_tiff_in_unit_range_is_scaled_by_255():
    values = np.linspace(0.0, 0.5, 64, dtype=np.float32).reshape(8, 8)
    gray = load_image(encode(Image.fromarray(values), "TIFF"))[..., 0]
    np.testing.assert_array_equal(gray, np.round(values.astype(np.float64) * 255).astype(np.uint8))


def test_rescale_handles_nan_and_constants():
    with_nan = np.array([[np.nan, 0.0], [0.5, 1.0]])
    np.testing.assert_array_equal(rescale_to_uint8(with_nan), [[0, 0], [128, 255]])
    assert rescale_to_uint8(np.full((3, 3), 7.5)).max() == 0  # constant outside [0, 1]
    np.testing.assert_array_equal(rescale_to_uint8(np.full((2, 2), 200, np.uint16)), 200)  # 8-bit values
    signed = rescale_to_uint8(np.array([-100, 0, 100], dtype=np.int32))
    np.testing.assert_array_equal(signed, [0, 128, 255])


# --------------------------------------------------------------------------- colour modes


def test_rgba_is_composited_onto_white():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[:2, ..., 3] = 255  # opaque red on top
    rgba[2:, ..., 3] = 0  # fully transparent below
    rgba[3, 3, 3] = 128  # half transparent red
    info = load_image_with_info(encode(Image.fromarray(rgba), "PNG"))
    np.testing.assert_array_equal(info.image[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(info.image[2, 0], [255, 255, 255])
    np.testing.assert_array_equal(info.image[3, 3], [255, 127, 127])
    assert any("white" in notice for notice in info.notices)


def test_gray_with_alpha_is_composited():
    la = Image.merge("LA", [Image.new("L", (3, 3), 0), Image.new("L", (3, 3), 0)])
    np.testing.assert_array_equal(load_image(encode(la, "PNG")), 255)


def test_palette_with_transparent_index():
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    palette.putpixel((0, 0), 0)
    image = load_image(encode(palette, "PNG", transparency=0))
    np.testing.assert_array_equal(image[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(image[1, 1], [10, 200, 30])


def test_one_bit_and_cmyk():
    bilevel = Image.new("1", (5, 5), 0)
    bilevel.putpixel((2, 2), 1)
    image = load_image(encode(bilevel, "PNG"))
    assert image[2, 2].tolist() == [255, 255, 255] and image[0, 0].tolist() == [0, 0, 0]
    cmyk = Image.new("CMYK", (6, 6), (0, 255, 255, 0))  # pure red in print colours
    info = load_image_with_info(encode(cmyk, "TIFF"))
    np.testing.assert_array_equal(info.image[0, 0], [255, 0, 0])
    assert any("CMYK" in notice for notice in info.notices)


# --------------------------------------------------------------------------- animation


def test_animated_gif_uses_first_frame_with_notice():
    frames = [Image.new("RGB", (10, 8), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    info = load_image_with_info(data)
    assert info.format == "GIF" and info.image.shape == (8, 10, 3)
    np.testing.assert_array_equal(info.image[0, 0], [255, 0, 0])
    assert info.notices == ["animated GIF with 3 frames: only the first frame is used"]


def test_multipage_tiff_uses_first_page():
    pages = [Image.new("L", (6, 6), value) for value in (40, 200)]
    info = load_image_with_info(encode(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    np.testing.assert_array_equal(info.image, 40)
    assert info.notices == ["multi-page TIFF with 2 pages: only the first page is used"]


def test_animated_png_uses_first_frame():
    frames = [Image.new("RGB", (4, 4), colour) for colour in ((9, 9, 9), (200, 200, 200))]
    info = load_image_with_info(encode(frames[0], "PNG", save_all=True, append_images=frames[1:]))
    np.testing.assert_array_equal(info.image, 9)
    assert "animated PNG with 2 frames" in info.notices[0]
