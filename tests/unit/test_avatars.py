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
