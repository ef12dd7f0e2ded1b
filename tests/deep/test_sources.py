"""Where weights come from: the one downloader (no network: the tests fetch their own bytes) and user sources."""

import hashlib
import io
import os
import time
import urllib.error

import pytest
import torch

from seglib.deep import sources
from seglib.deep.sources import Download, WeightsUnavailable, download, user_source

CONTENT = b"pretend weights " * 4096
REAL_FETCH_URL = sources.fetch_url


def declared(content=CONTENT, *, algorithm="sha256", exact_size=True, prefix=None, env=None):
    digest = hashlib.new(algorithm, content).hexdigest()
    return Download("model-x.pth", "https://example.invalid/model-x.pth", len(content),
                    digest[:prefix] if prefix else digest, algorithm=algorithm, exact_size=exact_size, env=env)


@pytest.fixture(autouse=True)
def hub(tmp_path, monkeypatch):
    """An empty torch cache in tmp_path, no remembered failures, and a network that must not be touched."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    sources.forget_failures()

    def no_network(*args, **kwargs):
        raise AssertionError("the tests must never download")

    monkeypatch.setattr(sources, "fetch_url", no_network)
    yield tmp_path / "hub" / "checkpoints"
    sources.forget_failures()


def serve(content):
    """A fetch that writes ``content`` in two chunks, reporting progress, and records its calls."""
    calls = []

    def fetch(url, destination, progress):
        calls.append(url)
        half = len(content) // 2
        with open(destination, "wb") as out:
            for done, chunk in ((half, content[:half]), (len(content), content[half:])):
                out.write(chunk)
                if progress:
                    progress(done, len(content))

    return fetch, calls


def offline(calls):
    def fetch(url, destination, progress):
        calls.append(url)
        raise urllib.error.URLError("Temporary failure in name resolution")

    return fetch


def test_download_streams_into_the_cache_with_progress_and_leaves_no_partial_file(hub):
    spec = declared()
    fetch, calls = serve(CONTENT)
    seen = []
    path = download(spec, "model x", progress=lambda done, total: seen.append((done, total)), fetch=fetch)
    assert path == hub / "model-x.pth" == spec.path and path.read_bytes() == CONTENT and spec.is_cached()
    assert seen == [(len(CONTENT) // 2, len(CONTENT)), (len(CONTENT), len(CONTENT))]
    assert [p.name for p in hub.iterdir()] == ["model-x.pth"]
    assert download(spec, "model x", fetch=fetch) == path and calls == [spec.url], "cached: no second download"


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_a_hash_prefix_or_whole_digest_is_checked_and_a_corrupt_download_is_not_kept(hub, algorithm):
    spec = declared(algorithm=algorithm, prefix=8 if algorithm == "sha256" else None)
    fetch, _ = serve(CONTENT[::-1])
    with pytest.raises(ValueError, match=f"{algorithm.upper()} .* not the published {spec.digest}: the file is "
                                         "corrupt"):
        download(spec, "model x", fetch=fetch)
    assert not hub.exists() or not any(hub.iterdir())
    assert download(spec, "model x", fetch=serve(CONTENT)[0]).read_bytes() == CONTENT


def test_an_exact_size_is_checked_before_the_hash(hub):
    spec = declared()
    with pytest.raises(ValueError, match=f"has {len(CONTENT) - 1} bytes, not the published {len(CONTENT)}"):
        download(spec, "model x", fetch=serve(CONTENT[:-1])[0])
    rounded = declared(exact_size=False)
    assert download(rounded, "model x", fetch=serve(CONTENT)[0]).is_file()


def test_offline_names_the_file_its_size_and_the_folder_and_is_remembered(hub):
    spec = declared(env="SOME_ENV")
    calls = []
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailable) as caught:
        download(spec, "Model X", fetch=offline(calls))
    assert time.perf_counter() - start < 5
    message = str(caught.value)
    assert message.startswith("Model X needs the weights file model-x.pth (0 MB), which is not in " + str(hub))
    assert "Temporary failure in name resolution" in message and str(hub / "model-x.pth") in message
    assert spec.url in message and "weights='path/to/model-x.pth'" in message and "SOME_ENV=" in message
    assert isinstance(caught.value, FileNotFoundError) and isinstance(caught.value, RuntimeError)
    with pytest.raises(WeightsUnavailable, match="Temporary failure"):
        download(spec, "Model X", fetch=offline(calls))
    assert len(calls) == 1, "a failure is remembered: no second network attempt right away"
    sources.forget_failures()
    assert download(spec, "Model X", fetch=serve(CONTENT)[0]).is_file()
    assert not [p for p in hub.iterdir() if "partial" in p.name]


def test_the_default_fetch_uses_urllib_with_the_timeout(hub, monkeypatch):
    seen = []

    def urlopen(url, timeout=None):
        seen.append(timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(sources, "fetch_url", REAL_FETCH_URL)  # the real one this time, with urlopen replaced
    monkeypatch.setattr(sources.urllib.request, "urlopen", urlopen)
    with pytest.raises(WeightsUnavailable, match="timed out"):
        download(declared(), "model x", timeout=3.0)
    assert seen == [3.0]


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="algorithm='sha1' is not allowed"):
        Download("a.pth", "https://example.invalid/a.pth", 1, "00", algorithm="sha1")
    assert declared().size_mb == pytest.approx(len(CONTENT) / 1e6)


# ---------------------------------------------------------------------------- the user's weights


def test_a_path_is_keyed_by_where_when_and_size_and_read_in_place(tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"12345")
    source = user_source(str(path), "unet")
    assert source.data == path.resolve() and source.key == ("unet", str(path.resolve()), path.stat().st_mtime_ns, 5)
    assert user_source(path, "unet") == source and hash(user_source(path, "unet")) == hash(source)
    assert user_source(path, "segnet") != source
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert user_source(path, "unet") != source, "a changed file is a new source"
    with pytest.raises(FileNotFoundError, match=r"weights='nowhere.pth': no such file\. Get it there"):
        user_source("nowhere.pth", "unet", hint="Get it there.")


def test_bytes_and_file_objects_are_keyed_by_content():
    by_bytes = user_source(b"abc", "unet")
    assert by_bytes.data == b"abc" and by_bytes == user_source(bytearray(b"abc"), "unet")
    assert user_source(io.BytesIO(b"abc"), "unet") == by_bytes
    assert user_source(b"abd", "unet") != by_bytes
    with pytest.raises(TypeError, match="weights of type int is not allowed: expected None"):
        user_source(3, "unet")


class Endless(io.RawIOBase):
    """A file object that never ends (like /dev/zero), counting what was read."""

    name = "/dev/zero"

    def __init__(self):
        self.read_bytes = 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = 1 << 20 if n is None or n < 0 else n
        self.read_bytes += n
        return bytes(n)


def test_file_objects_and_bytes_are_read_with_a_size_cap(monkeypatch):
    monkeypatch.setattr(sources, "MAX_IN_MEMORY_BYTES", 3 << 20)
    endless = Endless()
    with pytest.raises(ValueError, match=r"weights from /dev/zero are more than 3145728 bytes.*pass the file's "
                                         "path instead"):
        user_source(endless, "unet")
    assert endless.read_bytes <= (3 << 20) + 1
    with pytest.raises(ValueError, match="at most 3 MB"):
        user_source(bytes(4 << 20), "unet")
    with pytest.raises(TypeError, match="open it with 'rb'"):
        user_source(io.StringIO("text"), "unet")


def test_pages_read_which_method_downloads_what(monkeypatch):
    import seglib
    from seglib.deep import sam, zoo
    from seglib.registry import Param

    seglib.methods()
    assert sources.download_for("mask-rcnn") is zoo.MODELS["mask-rcnn"].download
    assert sources.download_for("sam") is sam.CHECKPOINTS["vit_b"]
    assert sources.download_for("sam-auto", {"model_type": "vit_h"}) is sam.CHECKPOINTS["vit_h"]
    assert sources.download_for("unet") is None and sources.download_for("otsu") is None
    monkeypatch.setattr(sources, "_method_downloads", {})
    small, large = declared(), declared(CONTENT * 2)
    sources.declare_download("toy", {"small": small, "large": large}, param=Param("size", "large",
                                                                                   choices=("small", "large")))
    assert sources.download_for("toy") is large and sources.download_for("toy", {"size": "small"}) is small


def test_a_file_named_by_its_environment_variable_needs_no_download(monkeypatch, tmp_path):
    spec = declared(env="TOY_WEIGHTS")
    assert not spec.is_available()
    (tmp_path / "mine.pth").write_bytes(b"x")
    monkeypatch.setenv("TOY_WEIGHTS", str(tmp_path / "mine.pth"))
    assert spec.is_available() and not spec.is_cached()
