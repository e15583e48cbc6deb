"""Avatar images: decoded with Pillow (never trusted by name or header), re-encoded as a
256x256 WebP so that what we serve is always an image we made."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from parley.core.errors import ProblemError

AVATAR_SIZE = (256, 256)
ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}
MAX_PIXELS = 40_000_000


def _unsupported(detail: str) -> ProblemError:
    return ProblemError(415, detail, type="unsupported-image")


def make_avatar(data: bytes) -> bytes:
    """The avatar to store, or 415 when ``data`` is not an image we accept. CPU-bound."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in ALLOWED_FORMATS:
                    raise _unsupported(
                        f"Images of type {image.format} are not accepted; "
                        "use PNG, JPEG, WebP or GIF."
                    )
                if image.width * image.height > MAX_PIXELS:
                    raise _unsupported("The image has too many pixels.")
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
        raise _unsupported("The file is not an image we can read.") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise _unsupported("The image is damaged or truncated.") from exc
    out = io.BytesIO()
    fitted.save(out, format="WEBP", quality=85, method=4)
    return out.getvalue()
