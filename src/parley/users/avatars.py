"""Avatar images: decoded with Pillow (never trusted by name or header), re-encoded as a
256x256 WebP so that what we serve is always an image we made.

Decoding is where a small file costs a lot: a 151 KB PNG of 6300x6300 pixels decodes to
~160 MB (and Pillow's conversions copy it). So the size in the header is checked before any
pixel is decoded, against what an avatar can use (16 Mpx, no side over 8192); JPEGs are decoded
at a reduced scale (``Image.draft``) close to the avatar's size; and at most
:data:`CONCURRENT_DECODES` images are decoded at once per process, so simultaneous uploads
queue instead of adding up.
"""

from __future__ import annotations

import asyncio
import io
import warnings
import weakref

from PIL import Image, ImageOps, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool

from parley.core.errors import ProblemError
from parley.users import errors

AVATAR_SIZE = (256, 256)
ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}
MAX_PIXELS = 4096 * 4096
MAX_SIDE = 8192
CONCURRENT_DECODES = 2
# One semaphore per event loop (a semaphore belongs to the loop it first waits in).
_decoding: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def make_avatar(data: bytes) -> bytes:
    """The avatar to store, or 415 when ``data`` is not an image we accept. CPU-bound."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in ALLOWED_FORMATS:
                    raise errors.unsupported_image(
                        f"Images of type {image.format} are not accepted; "
                        "use PNG, JPEG, WebP or GIF."
                    )
                if (
                    image.width * image.height > MAX_PIXELS
                    or max(image.width, image.height) > MAX_SIDE
                ):
                    raise errors.unsupported_image(
                        f"The image is too large ({image.width}x{image.height}); an avatar "
                        f"may have at most {MAX_PIXELS // 1_000_000} megapixels."
                    )
                if image.format == "JPEG":
                    # Decode at 1/2, 1/4 or 1/8 scale, as small as still covers the avatar.
                    image.draft("RGB", (AVATAR_SIZE[0] * 2, AVATAR_SIZE[1] * 2))
                image.load()
                picture = ImageOps.exif_transpose(image)
                picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
                fitted = ImageOps.fit(picture, AVATAR_SIZE, Image.Resampling.LANCZOS)
    except ProblemError:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise errors.unsupported_image("The file is not an image we can read.") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise errors.unsupported_image("The image is damaged or truncated.") from exc
    out = io.BytesIO()
    fitted.save(out, format="WEBP", quality=85, method=4)
    return out.getvalue()


async def render_avatar(data: bytes) -> bytes:
    """:func:`make_avatar` in a worker thread, at most :data:`CONCURRENT_DECODES` at a time."""
    loop = asyncio.get_running_loop()
    semaphore = _decoding.get(loop)
    if semaphore is None:
        semaphore = _decoding[loop] = asyncio.Semaphore(CONCURRENT_DECODES)
    async with semaphore:
        return await run_in_threadpool(make_avatar, data)
