"""What a file really is, found from its bytes (never from its name or a client's header).

PDFs by their magic number, images by Pillow, audio and video by PyAV (FFmpeg's probes). Every
function here is blocking and CPU-bound: call it in a worker thread with a seekable reader
from :meth:`parley.core.storage.Storage.open_reader`.
"""

from __future__ import annotations

import io
import mimetypes
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import av
import av.error
from PIL import Image, UnidentifiedImageError

ALLOWED_TYPES = frozenset(
    {
        "video/webm",
        "video/mp4",
        "audio/webm",
        "audio/ogg",
        "audio/mpeg",
        "audio/wav",
        "image/png",
        "image/jpeg",
        "image/webp",
        "application/pdf",
    }
)
# Names clients use for the same thing.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "application/x-pdf": "application/pdf",
}
# Containers whose audio/video variant is decided by the streams found, not the claim.
_SAME_CONTAINER = [{"video/webm", "audio/webm"}]
_IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
THUMBNAIL_WIDTH = 320
# The largest picture accepted as a file at all. Accepting reads only the header and the
# chunk checksums (nothing is decompressed), so this can stay generous.
MAX_IMAGE_PIXELS = 80_000_000
# The most pixels decoded at full size to make a thumbnail (PNG, WebP, a video frame; a JPEG
# after its reduced-size decode). 24 Mpx is a 6000x4000 camera photo or a 6K screenshot
# (6016x3384 = 20.4 Mpx) and costs at most ~96 MiB as RGBA; a thumbnail needs no more. A
# 300 KB PNG of 6300x6300 (39.7 Mpx, ~160 MiB decoded and several copies while resizing) is
# refused before any pixel is decompressed: the file is kept, its thumbnail fails with why.
MAX_DECODE_PIXELS = 24_000_000
# Decodes at once per process: each may hold ~100 MiB at the bound above.
DECODE_SLOTS = 2
_decode_slots = threading.BoundedSemaphore(DECODE_SLOTS)
# EXIF orientation → the transposition that shows the picture upright.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class SniffError(ValueError):
    """The bytes are not a type we accept; the message says what was found."""


def normalize(content_type: str | None) -> str | None:
    """``video/webm;codecs=vp8,opus`` → ``video/webm``; aliases to their usual name."""
    if not content_type:
        return None
    base = content_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base) or None


def claimed_type(content_type: str | None, filename: str) -> str | None:
    """The type a client claims: its explicit content type, else what the name suggests."""
    explicit = normalize(content_type)
    if explicit and explicit != "application/octet-stream":
        return explicit
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return normalize(guessed)


def consistent(claimed: str | None, actual: str) -> bool:
    if claimed is None or claimed == actual:
        return True
    return any(claimed in group and actual in group for group in _SAME_CONTAINER)


def _sniff_image(reader: BinaryIO) -> str | None:
    reader.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(reader) as image:
                kind = _IMAGE_FORMATS.get(image.format or "")
                if kind is None:
                    return None
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise SniffError("The image has too many pixels.")
                image.verify()
                return kind
    except SniffError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning):
        return None
    except Image.DecompressionBombError as exc:
        raise SniffError("The image has too many pixels.") from exc


def _av_type(container: Any) -> str | None:
    name = container.format.name
    has_video = any(s.type == "video" for s in container.streams)
    has_audio = any(s.type == "audio" for s in container.streams)
    if not (has_video or has_audio):
        return None
    if name == "matroska,webm":
        return "video/webm" if has_video else "audio/webm"
    if name.startswith("mov,mp4"):
        return "video/mp4" if has_video else None
    if name == "ogg":
        return None if has_video else "audio/ogg"
    if name == "mp3":
        return None if has_video else "audio/mpeg"
    if name == "wav":
        return "audio/wav"
    return None


def _sniff_av(reader: BinaryIO) -> str | None:
    reader.seek(0)
    try:
        with av.open(reader, mode="r") as container:
            return _av_type(container)
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        return None


def sniff(reader: BinaryIO) -> str:
    """The content type of the bytes in ``reader``, or :class:`SniffError`."""
    reader.seek(0)
    head = reader.read(16)
    if not head:
        raise SniffError("The file is empty.")
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    kind = _sniff_image(reader) or _sniff_av(reader)
    if kind is None:
        raise SniffError("The file is not one of the accepted audio, video, image or PDF types.")
    return kind


@dataclass
class Probe:
    """What the worker learns about a file: facts for the metadata, and a thumbnail."""

    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    codecs: list[str] = field(default_factory=list)
    thumbnail: bytes | None = None
    # Why there is no thumbnail although the file has pictures.
    thumbnail_note: str | None = None


def _too_many_pixels(width: int, height: int) -> SniffError:
    return SniffError(
        f"The picture is {width}x{height} ({width * height / 1e6:.1f} Mpx); thumbnails are "
        f"made from pictures of up to {MAX_DECODE_PIXELS / 1e6:.0f} Mpx."
    )


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except (ValueError, TypeError, OSError, SyntaxError):
        return 1


def _thumbnail_size(width: int, height: int, orientation: int) -> tuple[int, int]:
    """The size to resize to before turning the picture upright, so that it is
    :data:`THUMBNAIL_WIDTH` wide once upright."""
    swapped = orientation in (5, 6, 7, 8)
    shown_width, shown_height = (height, width) if swapped else (width, height)
    scaled = max(1, round(shown_height * THUMBNAIL_WIDTH / shown_width))
    return (scaled, THUMBNAIL_WIDTH) if swapped else (THUMBNAIL_WIDTH, scaled)


def _webp(image: Image.Image, orientation: int = 1) -> bytes:
    """A WebP :data:`THUMBNAIL_WIDTH` wide. Resized first (integer reduction, then Lanczos)
    and turned upright after, so that no full-size copy is made beyond a mode conversion."""
    picture = image
    if picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    size = _thumbnail_size(picture.width, picture.height, orientation)
    picture = picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if orientation in _ORIENTATION:
        picture = picture.transpose(_ORIENTATION[orientation])
    out = io.BytesIO()
    picture.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()


def _probe_image(reader: BinaryIO) -> Probe:
    """Facts and a thumbnail, decoding no more pixels than the thumbnail needs: a JPEG is
    decoded at 1/2, 1/4 or 1/8 of its size (``draft``); other formats whose size is over
    :data:`MAX_DECODE_PIXELS` are refused from their header, before decompression."""
    reader.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(reader) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _too_many_pixels(width, height)
            orientation = _orientation(image)
            if image.format == "JPEG":
                target = _thumbnail_size(width, height, orientation)
                # Twice the thumbnail's size keeps the final Lanczos pass sharp.
                image.draft(None, (target[0] * 2, target[1] * 2))
            if image.width * image.height > MAX_DECODE_PIXELS:
                raise _too_many_pixels(width, height)
            image.load()
            return Probe(
                width=width,
                height=height,
                codecs=[(image.format or "").lower()],
                thumbnail=_webp(image, orientation),
            )


def _duration(container: Any) -> float | None:
    """The container's duration; MediaRecorder's WebM has none in its header, so then the
    packets are read (not decoded) up to the last timestamp."""
    if container.duration is not None and container.duration > 0:
        return float(container.duration / av.time_base)
    last = 0.0
    for packet in container.demux():
        if packet.pts is not None and packet.time_base is not None:
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            last = max(last, end)
    container.seek(0)
    return last or None


def _frame_at(container: Any, stream: Any, target_s: float) -> Image.Image | None:
    """The first frame at or after ``target_s`` (seeking to the keyframe before it)."""
    if target_s > 0 and stream.time_base is not None:
        try:
            container.seek(int(target_s / stream.time_base), stream=stream, backward=True)
        except av.error.FFmpegError:
            container.seek(0)
    picked = None
    for frame in container.decode(stream):
        picked = frame
        if frame.time is None or frame.time >= target_s:
            break
    if picked is None:
        # Seeking failed quietly (a file without an index): decode from the start.
        container.seek(0)
        for frame in container.decode(stream):
            picked = frame
            if frame.time is None or frame.time >= target_s:
                break
    return picked.to_image() if picked is not None else None


def _probe_av(reader: BinaryIO) -> Probe:
    reader.seek(0)
    with av.open(reader, mode="r") as container:
        probe = Probe(
            codecs=[s.codec_context.name for s in container.streams if s.type in ("video", "audio")]
        )
        probe.duration_s = _duration(container)
        video = container.streams.video[0] if container.streams.video else None
        if video is None:
            return probe
        probe.width = video.codec_context.width or None
        probe.height = video.codec_context.height or None
        if (probe.width or 0) * (probe.height or 0) > MAX_DECODE_PIXELS:
            # The recording itself is fine; only its picture is too large to decode here.
            probe.thumbnail_note = str(_too_many_pixels(probe.width or 0, probe.height or 0))
            return probe
        video.thread_type = "AUTO"
        image = _frame_at(container, video, (probe.duration_s or 0.0) * 0.10)
        if image is None:
            raise SniffError("No video frame could be decoded.")
        probe.width = probe.width or image.width
        probe.height = probe.height or image.height
        probe.thumbnail = _webp(image)
        return probe


def probe(reader: BinaryIO, content_type: str) -> Probe:
    """Duration, size, codecs and (for pictures and video) a 320 px wide WebP thumbnail.

    Raises :class:`SniffError` with a reason when the file cannot be decoded. At most
    :data:`DECODE_SLOTS` decodes run at once in a process (others wait their turn)."""
    try:
        with _decode_slots:
            if content_type.startswith("image/"):
                return _probe_image(reader)
            if content_type.startswith(("video/", "audio/")):
                return _probe_av(reader)
    except SniffError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, SyntaxError, Warning) as exc:
        raise SniffError(f"{type(exc).__name__}: {exc}"[:500]) from exc
    return Probe()
