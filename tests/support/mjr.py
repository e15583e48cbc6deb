"""Janus recordings (``.mjr``) made in a test, the way Janus makes them from RTP.

PyAV encodes a test picture (VP8) or a tone (Opus) and sends it as RTP over UDP to a socket
of ours; the packets are written to a pcap (their capture times follow their RTP timestamps,
starting at ``first_us``) and Janus's own ``pcap2mjr`` (janus-tools) turns that into the
``.mjr`` Janus would have written, named as VideoRoom names it.
"""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def require_tools() -> None:
    import pytest

    for tool in ("pcap2mjr", "janus-pp-rec"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt janus-tools)")


def _pcap(packets: list[tuple[int, bytes]], out: Path) -> None:
    """Packets (capture µs, UDP payload) as an Ethernet/IPv4/UDP pcap."""
    with out.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for us, payload in packets:
            udp = struct.pack("!HHHH", 5000, 5004, 8 + len(payload), 0) + payload
            ip = struct.pack(
                "!BBHHHBBH4s4s",
                0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]),
            )  # fmt: skip
            frame = b"\x00" * 12 + b"\x08\x00" + ip + udp
            f.write(struct.pack("<IIII", us // 1_000_000, us % 1_000_000, len(frame), len(frame)))
            f.write(frame)


def _send_rtp(kind: str, seconds: float, port: int) -> None:
    with av.open(f"rtp://127.0.0.1:{port}", mode="w", format="rtp") as out:
        if kind == "video":
            video = out.add_stream("libvpx", rate=15)
            video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
            video.options = {"deadline": "realtime", "cpu-used": "8"}
            for i in range(round(seconds * 15)):
                picture = np.full((240, 320, 3), (i * 8) % 256, np.uint8)
                picture[:, : 320 * (i % 15) // 15] = (200, 40, 40)
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, 15)
                for packet in video.encode(frame):
                    out.mux(packet)
            for packet in video.encode(None):
                out.mux(packet)
        else:
            audio = out.add_stream("libopus", rate=48000, layout="mono")
            t = np.arange(960) / 48000
            for i in range(round(seconds * 50)):
                tone = (0.3 * np.sin(2 * np.pi * 440 * (t + i * 0.02))).astype(np.float32)
                sound = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="flt", layout="mono")
                sound.sample_rate, sound.pts, sound.time_base = 48000, i * 960, Fraction(1, 48000)
                for packet in audio.encode(sound):
                    out.mux(packet)
            for packet in audio.encode(None):
                out.mux(packet)


def make_mjr(folder: Path, room: str, feed: str, kind: str, first_us: int, seconds: float) -> Path:
    """A VideoRoom-style ``.mjr`` of ``seconds`` of ``kind`` (audio/video) from ``feed``."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(2.0)
    port = receiver.getsockname()[1]
    received: list[bytes] = []

    def receive() -> None:
        while True:
            try:
                data = receiver.recv(65536)
            except TimeoutError:
                return
            if len(data) >= 12 and 96 <= data[1] & 0x7F <= 127:  # RTP, not RTCP
                received.append(data)

    thread = threading.Thread(target=receive)
    thread.start()
    _send_rtp(kind, seconds, port)
    thread.join()
    receiver.close()
    clock = 90_000 if kind == "video" else 48_000
    base = struct.unpack("!I", received[0][4:8])[0]
    packets = [
        (first_us + ((struct.unpack("!I", p[4:8])[0] - base) % 2**32) * 1_000_000 // clock, p)
        for p in received
    ]
    index = 1 if kind == "video" else 0
    name = f"videoroom-{room}-user-{feed}-{first_us}-{kind}-{index}"
    pcap = folder / f"{name}.pcap"
    _pcap(packets, pcap)
    mjr = folder / f"{name}.mjr"
    codec = "vp8" if kind == "video" else "opus"
    subprocess.run(["pcap2mjr", "-c", codec, str(pcap), str(mjr)], check=True, capture_output=True)
    pcap.unlink()
    return mjr
