"""Avatar decoding and re-encoding, without HTTP."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from parley.core.errors import ProblemError
from parley.users.avatars import make_avatar


def _encode(fmt: str, size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, 128).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_accepted_formats_become_256px_webp(fmt: str) -> None:
    avatar = make_avatar(_encode(fmt, (400, 300)))
    with Image.open(io.BytesIO(avatar)) as image:
        assert (image.format, image.size) == ("WEBP", (256, 256))


def test_transparency_is_kept() -> None:
    avatar = make_avatar(_encode("PNG", (64, 64), "RGBA"))
    with Image.open(io.BytesIO(avatar)) as image:
        assert "A" in image.getbands()


def test_other_image_formats_are_415() -> None:
    with pytest.raises(ProblemError) as info:
        make_avatar(_encode("BMP", (32, 32)))
    assert info.value.status == 415


def test_decompression_bombs_are_415() -> None:
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, format="PNG")
    with pytest.raises(ProblemError) as info:
        make_avatar(out.getvalue())
    assert info.value.status == 415


def test_images_over_16_megapixels_are_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bomb = _encode("PNG", (6300, 6300), "1")
    decoded: list[object] = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self))
    with pytest.raises(ProblemError) as info:
        make_avatar(bomb)
    assert info.value.status == 415
    assert decoded == []


def test_a_very_long_image_is_refused() -> None:
    with pytest.raises(ProblemError) as info:
        make_avatar(_encode("PNG", (9000, 10), "1"))
    assert info.value.status == 415


def test_large_jpegs_are_decoded_at_a_reduced_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    photo = _encode("JPEG", (4000, 3000))
    sizes: list[tuple[int, int]] = []
    original = Image.Image.load

    def spy(self: Image.Image) -> object:
        result = original(self)
        sizes.append(self.size)
        return result

    monkeypatch.setattr(Image.Image, "load", spy)
    avatar = make_avatar(photo)
    with Image.open(io.BytesIO(avatar)) as image:
        assert image.size == (256, 256)
    assert sizes and max(sizes[0]) <= 1000, sizes


async def test_at_most_a_few_images_are_decoded_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import threading
    import time

    from parley.users import avatars

    running = 0
    peak = 0
    lock = threading.Lock()

    def slow(data: bytes) -> bytes:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return data

    monkeypatch.setattr(avatars, "make_avatar", slow)
    results = await asyncio.gather(*(avatars.render_avatar(b"x") for _ in range(8)))
    assert results == [b"x"] * 8
    assert peak == avatars.CONCURRENT_DECODES
