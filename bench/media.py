"""Benchmark: media-service uploads, downloads and thumbnails on loopback.

On `parley serve media` (one uvicorn worker, pinned to core 1; the client on core 0):
- a 1 GiB tus upload (creation + PATCHes of 128 MiB, streamed from the client), to the local
  directory and to S3 (moto's standalone server on 127.0.0.1): MB/s, and the server's peak RSS
  growth during the upload (VmHWM after the upload minus VmRSS before, peak reset first);
- Range reads of that file: 64 MiB ranges (MB/s) and random 64 KiB ranges (requests/s);
- the time to thumbnail a 60 s 720p WebM made here with PyAV: the probe+thumbnail function
  alone, and end to end (upload answered → ``thumbnail_status: ready``, through the worker).

Prints each run and the median of ``--runs`` (default 3).

    python bench/media.py [--runs 3] [--size-mib 1024] [--skip-s3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import JWT_SECRET, pinned, service_process
from tests.support.servers import free_port

from parley.core.auth import TokenSigner

TUS = {"Tus-Resumable": "1.0.0"}
PATCH_BYTES = 128 * 1024 * 1024
BLOCK = os.urandom(8 * 1024 * 1024)


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _reset_peak(pid: int) -> None:
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


@contextlib.contextmanager
def media_server(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    limits = {
        "PARLEY_MEDIA_MAX_FILE_BYTES": str(4 * 1024**3),
        "PARLEY_MEDIA_USER_QUOTA_BYTES": str(64 * 1024**3),
        "PARLEY_MEDIA_WORKER_INTERVAL_S": "0.2",
        "PARLEY_LOG_LEVEL": "warning",
    }
    with service_process("media", {**limits, **env}) as running:
        yield running


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    port = free_port()
    binary = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    if binary is None:
        sys.exit("moto_server is needed: pip install 'moto[server]'")
    process = subprocess.Popen(
        [*pinned(0), binary, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.TransportError):
                httpx.get(url, timeout=1)
                break
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def auth_headers() -> dict[str, str]:
    signer = TokenSigner(JWT_SECRET, 3600)
    token, _ = signer.issue_access(
        "00000000-0000-4000-8000-000000000001", "user", "bench-session", "Bench"
    )
    return {"Authorization": f"Bearer {token}"}


def body(start: int, length: int) -> Iterator[bytes]:
    """Bytes ``start`` to ``start + length`` of a file that starts like a PDF."""
    sent = 0
    while sent < length:
        chunk = BLOCK[: min(len(BLOCK), length - sent)]
        if start + sent == 0:
            chunk = b"%PDF-1.7\n" + chunk[9:]
        yield chunk
        sent += len(chunk)


def tus_upload(base: str, headers: dict[str, str], size: int) -> tuple[str, float]:
    with httpx.Client(base_url=base, timeout=600) as client:
        meta = "filename YmVuY2gucGRm,content_type YXBwbGljYXRpb24vcGRm"  # bench.pdf
        created = client.post(
            "/api/v1/media/uploads/",
            headers={**headers, **TUS, "Upload-Length": str(size), "Upload-Metadata": meta},
        )
        created.raise_for_status()
        location = created.headers["location"]
        started = time.perf_counter()
        offset = 0
        while offset < size:
            length = min(PATCH_BYTES, size - offset)
            response = client.patch(
                location,
                headers={
                    **headers,
                    **TUS,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Content-Length": str(length),
                },
                content=body(offset, length),
            )
            if response.status_code != 204:
                raise RuntimeError(
                    f"PATCH at {offset} failed: {response.status_code} {response.text}"
                )
            offset = int(response.headers["upload-offset"])
        elapsed = time.perf_counter() - started
        return location.rsplit("/", 1)[1], elapsed


def range_reads(
    base: str, headers: dict[str, str], media_id: str, size: int, small_count: int
) -> dict[str, float]:
    url = f"/api/v1/media/{media_id}/content"
    big = 64 * 1024 * 1024
    with httpx.Client(base_url=base, timeout=600) as client:
        started = time.perf_counter()
        total = 0
        for start in range(0, min(size, 8 * big), big):
            with client.stream(
                "GET", url, headers={**headers, "Range": f"bytes={start}-{start + big - 1}"}
            ) as response:
                assert response.status_code == 206, response.status_code
                for chunk in response.iter_bytes(1024 * 1024):
                    total += len(chunk)
        big_mbs = total / (time.perf_counter() - started) / 1e6
        small = 64 * 1024
        count = small_count
        rng = random.Random(1)
        started = time.perf_counter()
        for _ in range(count):
            start = rng.randrange(0, size - small)
            response = client.get(
                url, headers={**headers, "Range": f"bytes={start}-{start + small - 1}"}
            )
            assert response.status_code == 206 and len(response.content) == small
        small_rps = count / (time.perf_counter() - started)
    return {"range_64mib_mb_s": big_mbs, "range_64kib_req_s": small_rps}


def upload_run(
    base: str, process: subprocess.Popen[bytes], size: int, small_count: int = 300
) -> dict[str, float]:
    headers = auth_headers()
    baseline = _rss_kib(process.pid, "VmRSS")
    _reset_peak(process.pid)
    cpu_before = _cpu_s(process.pid)
    media_id, elapsed = tus_upload(base, headers, size)
    cpu = _cpu_s(process.pid) - cpu_before
    peak = _rss_kib(process.pid, "VmHWM")
    print(f"    (upload {size / 2**20:.0f} MiB in {elapsed:.1f} s)", flush=True)
    result = {
        "upload_mb_s": size / elapsed / 1e6,
        "rss_growth_mib": max(0, peak - baseline) / 1024,
        # CPU the server spent per GiB: a figure that other load on the machine barely moves
        "server_cpu_s_per_gib": cpu / (size / 2**30),
        **range_reads(base, headers, media_id, size, small_count),
    }
    with httpx.Client(base_url=base, timeout=60) as client:
        client.delete(f"/api/v1/media/{media_id}", headers=headers).raise_for_status()
    return result


def webm_60s_720p() -> bytes:
    """A 60 s 1280x720 VP8 WebM (24 fps, a moving gradient), encoded here with PyAV."""
    import av
    import numpy as np

    out = io.BytesIO()
    width, height, fps = 1280, 720, 24
    with av.open(out, mode="w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"deadline": "realtime", "cpu-used": "8", "b": "1500k"}
        gradient = np.tile(np.arange(width, dtype=np.uint8), (height, 1))
        for i in range(60 * fps):
            plane = np.roll(gradient, i * 4, axis=1)
            frame = av.VideoFrame.from_ndarray(np.dstack([plane, plane, plane]), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def thumbnail_runs(base: str, video: bytes, runs: int) -> None:
    from parley.media import sniffing

    direct = []
    for _ in range(runs):
        started = time.perf_counter()
        probe = sniffing.probe(io.BytesIO(video), "video/webm")
        direct.append(time.perf_counter() - started)
        assert probe.thumbnail and probe.width == 1280
    print(
        "thumbnail (probe + frame at 10 % + 320 px WebP), in-process: runs "
        + ", ".join(f"{t:.3f} s" for t in direct)
        + f"; median {statistics.median(direct):.3f} s",
        flush=True,
    )
    headers = auth_headers()
    end_to_end = []
    with httpx.Client(base_url=base, timeout=600) as client:
        for _ in range(runs):
            response = client.post(
                "/api/v1/media",
                headers=headers,
                files={"file": ("talk.webm", video, "video/webm")},
            )
            response.raise_for_status()
            media_id = response.json()["id"]
            started = time.perf_counter()
            while True:
                status = client.get(f"/api/v1/media/{media_id}", headers=headers).json()
                if status["thumbnail_status"] not in ("pending", "processing"):
                    break
                time.sleep(0.01)
            end_to_end.append(time.perf_counter() - started)
            assert status["thumbnail_status"] == "ready", status
    print(
        "thumbnail end to end (upload answered → ready, via the worker): runs "
        + ", ".join(f"{t:.3f} s" for t in end_to_end)
        + f"; median {statistics.median(end_to_end):.3f} s",
        flush=True,
    )


def report(name: str, results: list[dict[str, float]]) -> None:
    for i, result in enumerate(results, 1):
        print(f"  {name} run {i}: " + "  ".join(f"{k} {v:.1f}" for k, v in result.items()))
    median = {key: statistics.median(r[key] for r in results) for key in results[0]}
    print(
        f"{name} median of {len(results)}: " + "  ".join(f"{k} {v:.1f}" for k, v in median.items()),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--skip-s3", action="store_true")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--skip-thumbnail", action="store_true")
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024

    if not args.skip_local:
        print(f"tus upload of {args.size_mib} MiB + range reads, local storage", flush=True)
        with media_server({}) as (base, process):
            report("local", [upload_run(base, process, size) for _ in range(args.runs)])
            if not args.skip_thumbnail:
                print("making a 60 s 720p WebM with PyAV ...", flush=True)
                video = webm_60s_720p()
                print(f"  {len(video) / 1e6:.1f} MB", flush=True)
                thumbnail_runs(base, video, args.runs)

    if not args.skip_s3:
        print(f"tus upload of {args.size_mib} MiB + range reads, S3 (moto_server)", flush=True)
        with moto_server() as s3_url:
            env = {
                "PARLEY_S3_BUCKET": "bench",
                "PARLEY_S3_ENDPOINT_URL": s3_url,
                "PARLEY_S3_ACCESS_KEY": "bench",
                "PARLEY_S3_SECRET_KEY": "bench-secret",
            }
            with media_server(env) as (base, process):
                # moto reads the whole object for every ranged GET: few small ranges there.
                report("s3", [upload_run(base, process, size, 20) for _ in range(args.runs)])


if __name__ == "__main__":
    main()
