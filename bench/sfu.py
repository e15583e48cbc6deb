"""Mesh vs SFU in the browser: frame rate, uplink, CPU and join time, side by side in one run.

``parley up`` twice, once with rooms peer to peer (``PARLEY_SFU_MODE=never``) and once through
its own Janus (``PARLEY_SFU_MODE=auto``, the default, where every room of three or more is on
the SFU; ``--sfu-mode always`` for rooms on it from the first person; ICE on the veth ``v0``),
each time with one headless Chromium (fake camera and microphone, no mDNS candidates: the same
arguments for both planes), everything inside a loopback-only network namespace.

1. Rooms of 4 and 6 people (8 with ``--big``), a fresh browser context each. Once every page
   decodes everyone, a short settle, then a window of 15 s: per page the frame rate of each
   remote video (``framesDecoded`` deltas of its inbound-rtp stats), its uplink (``bytesSent``
   deltas summed over all its outbound-rtp streams and connections: the pages' connections are
   kept in ``window.__pcs`` by an init script), Chromium's CPU (the browser's whole process
   tree, from /proc) per frame decoded on all pages, and Janus's CPU per forwarded video stream
   (n·(n-1) of them) and second.
2. Join time, from clicking "Join" to the first remote frame (bench/join_time.py's MEASURE), the
   median of ``--runs`` joins into a room of 4 (and of 8 with ``--big``).

A room that does not converge within 120 s, or whose pages lose their signaling connection (a
starved renderer misses its heartbeats), is still measured and marked ``*`` with what happened;
a room that fails outright is reported with the tail of the server's log, and the rest go on.

Targets through the SFU: join ≤ 1.0 s (4 people), ≤ 1.5 s (8 people). The Janus capacity
printed at the end is an extrapolation from a small room, beside LiveKit's published figure.
Usage (as root): python bench/sfu.py [--runs 10] [--big] [--join-only] [--sfu-mode auto|always]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.join_time import MEASURE, guest_context, host_meeting
from tests.support import netns
from tests.support.browser import CHROMIUM, SFU_CHROMIUM_ARGS, ServerDidNotStart, parley_up
from tests.support.janus import VETH, NotIsolated, ensure_veth

from parley.rtc.process import janus_binary

RTP_PORTS = "31000-31199"
HOLD_S = 15.0  # the measured window
SETTLE_S = 2.0  # after everyone decodes everyone, before the window opens
READY_TIMEOUT_S = 120.0  # for everyone to decode everyone (2 busy cores, up to 8 pages)
JANUS_TIMEOUT_S = 15.0
TARGETS_MS = {4: 1000.0, 8: 1500.0}  # join time through the SFU
LIVEKIT_PER_CORE = 1400  # 150 x 150 (≈22,350 forwarded video streams) on 16 cores at 85 %
CAPACITY_LOAD = 0.8  # Janus capacity estimate: streams per core at 80 % CPU
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Every RTCPeerConnection a page makes, closed or not, in creation order; socket closes.
TRACK_PCS = """(() => {
  const Native = window.RTCPeerConnection;
  if (!Native || Native.__benchTracked) return;
  window.__pcs = [];
  class Tracked extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  }
  Tracked.__benchTracked = true;
  window.RTCPeerConnection = Tracked;
  // And how each signaling socket closed (for the report when a page loses the room).
  const NativeSocket = window.WebSocket;
  window.__closes = [];
  class Watched extends NativeSocket {
    constructor(...args) {
      super(...args);
      const opened = performance.now();
      this.addEventListener('close', e => window.__closes.push(
        `${e.code} ${e.reason || ''} after ${Math.round(performance.now() - opened)} ms`));
    }
  }
  window.WebSocket = Watched;
})();"""

# How many remote videos show a frame (as MEASURE counts them); why not, out of the room.
DECODING = """() => {
  if (!document.querySelector('[data-state=room]')) {
    const message = document.querySelector('[data-state=message]');
    const why = message ? message.textContent.trim().slice(0, 120) : 'not in the room';
    return `${why} (signaling socket closes: ${(window.__closes || []).join('; ')})`;
  }
  return [...document.querySelectorAll('.tile:not(.self) video')]
    .filter(v => v.videoWidth > 0 && v.readyState >= 2).length;
}"""

# One page's counters: inbound video streams (frames decoded, width), bytes sent, the plane.
SNAPSHOT = """async () => {
  const pcs = window.__pcs || [];
  const inbound = [];
  let bytesSent = 0;
  const t0 = performance.now();
  for (const [index, pc] of pcs.entries()) {
    if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
    let report;
    try { report = await pc.getStats(); } catch { continue; }
    report.forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        inbound.push({key: `${index}/${s.id}`, frames: s.framesDecoded || 0,
                      width: s.frameWidth || 0});
      }
      if (s.type === 'outbound-rtp') bytesSent += s.bytesSent || 0;
    });
  }
  const self = document.querySelector('.tile.self');
  const room = document.querySelector('[data-state=room]');
  const message = document.querySelector('[data-state=message]');
  return {
    t: (t0 + performance.now()) / 2, inbound, bytesSent, pcs: pcs.length,
    mode: room ? room.dataset.mediaMode || null : null,
    states: [...document.querySelectorAll('[data-state]')].map(e => e.dataset.state),
    message: message ? message.textContent.trim().slice(0, 120) : null,
    closes: window.__closes || [],
    videoStreams: self ? self.dataset.outboundVideoStreams || null : null,
    encodings: self ? self.dataset.outboundEncodings || null : null,
  };
}"""


# -- CPU time from /proc ------------------------------------------------------------------------


def processes() -> dict[int, tuple[int, str, float]]:
    """Every process: pid → (parent pid, name, CPU seconds so far, all its threads)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()  # from field 3 (state) on
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
        table[int(entry)] = (int(fields[1]), name, cpu)
    return table


def descendants(root: int, table: dict[int, tuple[int, str, float]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def chromium_cpu() -> dict[int, float]:
    """CPU seconds of every process of this script's Chromium (the browser process and all
    its descendants: zygotes, renderers, GPU, network and audio services)."""
    table = processes()
    mine = descendants(os.getpid(), table)
    roots = [
        pid
        for pid in mine
        if table[pid][1] == "chromium" and table.get(table[pid][0], (0, "", 0.0))[1] != "chromium"
    ]
    tree = set(roots)
    for root in roots:
        tree |= descendants(root, table)
    return {pid: table[pid][2] for pid in tree if pid in table}


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two samples; a process born meanwhile counts in full."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def process_cpu(pid: int) -> float:
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def server_pid() -> int | None:
    """This script's ``parley up`` (a child of ours)."""
    for pid in descendants(os.getpid(), processes()):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"parley.cli" in argv and b"up" in argv:
            return pid
    return None


def find_janus(data: Path) -> int:
    """The pid of the Janus that this script's ``parley up`` started (its child)."""
    deadline = time.monotonic() + JANUS_TIMEOUT_S
    while time.monotonic() < deadline:
        table = processes()
        server = server_pid()
        for pid in descendants(server, table) if server else ():
            if table[pid][1] == "janus":
                return pid
        time.sleep(0.2)
    log = data / "janus" / "janus.log"
    tail = log.read_text()[-2000:] if log.exists() else "(no janus.log)"
    raise RuntimeError(f"parley up started no Janus (rooms would stay in mesh); its log:\n{tail}")


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} unreadable)"


def median(values: list[float] | list[int]) -> float:
    return statistics.median(values) if values else float("nan")


# -- rooms --------------------------------------------------------------------------------------


@dataclass
class Room:
    mode: str
    size: int
    fps: list[float] = field(default_factory=list)  # per remote stream, all pages
    kbps_up: list[float] = field(default_factory=list)  # per page
    widths: list[int] = field(default_factory=list)  # per remote stream
    chromium_ms_per_frame: float = float("nan")
    chromium_cores: float = float("nan")
    janus_us_per_stream_s: float = float("nan")
    janus_cores: float = float("nan")
    join_ms: float | None = None
    join_all_ms: float | None = None
    failed: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # pages out of the room during the window
    incomplete: str | None = None  # not everyone decoded everyone when the window opened


async def new_person(browser: Browser) -> BrowserContext:
    context = await guest_context(browser)
    context.set_default_timeout(30_000)
    await context.add_init_script(TRACK_PCS)
    return context


async def join_as_guest(context: BrowserContext, base: str, code: str, name: str) -> Page:
    """bench/join_time.py's, with the preview wait as a function: a string predicate is polled
    through eval(), which the page's CSP refuses once the first check fails (busy machine)."""
    page = await context.new_page()
    await page.goto(f"{base}/m/{code}")
    await page.get_by_label("Your name").fill(name)
    # The preview must be up (devices listed) before the click is timed.
    await page.wait_for_function("() => document.querySelector('#camera')?.options.length > 0")
    return page


async def enter(context: BrowserContext, base: str, code: str, name: str) -> Page:
    page = await join_as_guest(context, base, code, name)
    await page.locator("#join").click()
    await page.locator("[data-state=room]").wait_for()
    return page


async def everyone_decodes(pages: list[Page], others: int) -> str | None:
    """Until every page in the room shows a frame of everyone else there. None then; after
    READY_TIMEOUT_S, what is missing (the room is measured as it is: a mesh that cannot keep
    up is a result too). A page out of the room (its signaling lost) is left out."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    shown = time.monotonic()
    while True:
        counts = [await page.evaluate(DECODING) for page in pages]
        inside = [count for count in counts if isinstance(count, int)]
        if not inside:
            raise RuntimeError(f"every page left the room: {counts[0]}")
        expected = others - (len(counts) - len(inside))
        if all(count >= expected for count in inside):
            return None if len(inside) == len(counts) else f"decoding, pages out: {counts}"
        if time.monotonic() - shown > 20:
            shown = time.monotonic()
            print(f"    still waiting: the pages decode {counts} remote videos", flush=True)
        if time.monotonic() > deadline:
            print(f"    measuring anyway: the pages decode {counts}", flush=True)
            return f"after {READY_TIMEOUT_S:.0f} s, remote videos decoded per page: {counts}"
        await asyncio.sleep(0.25)


async def sample(pages: list[Page], janus: int | None) -> dict[str, Any]:
    chromium = chromium_cpu()
    janus_cpu = process_cpu(janus) if janus else 0.0
    wall = time.monotonic()
    snapshots = [await page.evaluate(SNAPSHOT) for page in pages]
    return {"chromium": chromium, "janus": janus_cpu, "wall": wall, "pages": snapshots}


def check_plane(number: int, mode: str, size: int, snapshot: dict[str, Any]) -> str | None:
    """Why a page's figures cannot count (it is not in the room any more: connection lost...),
    or None. Stops when it is on the other plane (an SFU room fallen back to mesh)."""
    if "room" not in snapshot["states"]:
        return (
            f"page {number} left the room: {snapshot['message']!r}"
            f" (signaling socket closes: {'; '.join(snapshot['closes'])})"
        )
    plane = snapshot["mode"]
    if plane is None:  # the attribute is set on the plane's "mode" event: from the streams
        carriers = {s["key"].split("/")[0] for s in snapshot["inbound"] if s["frames"] > 0}
        if size > 2 and len(carriers) > 1:
            plane = "mesh"
        elif size > 2 and len(carriers) == 1:
            plane = "sfu"
    if plane is not None and plane != mode:
        raise RuntimeError(f"page {number} is in {plane!r} mode, not {mode!r}")
    return None


async def steady_room(browser: Browser, base: str, mode: str, size: int, janus: int | None) -> Room:
    _, code = host_meeting(base)
    contexts: list[BrowserContext] = []
    pages: list[Page] = []
    try:
        started = time.monotonic()
        for number in range(size):
            contexts.append(await new_person(browser))
            pages.append(await enter(contexts[-1], base, code, f"Person {number + 1}"))
        incomplete = await everyone_decodes(pages, size - 1)
        print(
            f"  {mode} {size} people: "
            + ("not everyone decodes everyone" if incomplete else "everyone decodes everyone")
            + f" {time.monotonic() - started:.1f} s after the first page opened",
            flush=True,
        )
        await asyncio.sleep(SETTLE_S)
        before = await sample(pages, janus)
        await asyncio.sleep(HOLD_S)
        after = await sample(pages, janus)
    finally:
        for context in contexts:
            await context.close()

    room = Room(mode, size, incomplete=incomplete)
    frame_rate = 0.0  # frames decoded per second, all pages (each over its own window)
    for number, (first, last) in enumerate(zip(before["pages"], after["pages"], strict=True)):
        lost = check_plane(number + 1, mode, size, first) or check_plane(
            number + 1, mode, size, last
        )
        if lost:  # its own figures mean nothing; what the others received of it still counts
            room.lost.append(lost)
            print(f"    {lost}", flush=True)
            continue
        if len(last["closes"]) > len(first["closes"]):
            print(f"    page {number + 1}: signaling reconnected: {last['closes'][-1]}", flush=True)
        seconds = (last["t"] - first["t"]) / 1000
        earlier = {s["key"]: s["frames"] for s in first["inbound"]}
        streams = [s for s in last["inbound"] if s["frames"] > 0 and s["key"] in earlier]
        page_fps = [(s["frames"] - earlier[s["key"]]) / seconds for s in streams]
        frame_rate += sum(page_fps)
        room.fps += page_fps
        room.widths += [s["width"] for s in streams]
        kbps = (last["bytesSent"] - first["bytesSent"]) * 8 / seconds / 1000
        room.kbps_up.append(kbps)
        fps_text = " ".join(f"{fps:4.1f}" for fps in page_fps)
        print(
            f"    page {number + 1}: {len(streams)} remote videos at [{fps_text}] fps,"
            f" up {kbps:5.0f} kbps ({last['videoStreams'] or '?'} outbound video streams,"
            f" {last['encodings'] or '?'} simulcast encodings, {last['pcs']} connections made)",
            flush=True,
        )
        if len(streams) != size - 1:
            print(f"    page {number + 1}: {len(streams)} remote videos, not {size - 1}!")
    if len(room.lost) == size:
        raise RuntimeError(f"every page left the room; the first: {room.lost[0]}")
    wall = after["wall"] - before["wall"]
    chromium = cpu_delta(before["chromium"], after["chromium"])
    room.chromium_cores = chromium / wall
    # Rates, not totals: the CPU window and each page's window differ by the sampling time.
    room.chromium_ms_per_frame = (
        room.chromium_cores * 1000 / frame_rate if frame_rate else float("nan")
    )
    if janus:
        spent = after["janus"] - before["janus"]
        room.janus_cores = spent / wall
        room.janus_us_per_stream_s = spent * 1e6 / (size * (size - 1) * wall)
    print(
        f"  {mode} {size} people over {wall:.1f} s: fps per stream median"
        f" {median(room.fps):.1f} (min {min(room.fps, default=float('nan')):.1f}),"
        f" width median {median(room.widths):.0f} px;"
        f" up median {median(room.kbps_up):.0f} kbps per page;"
        f" Chromium {room.chromium_cores:.2f} cores, {room.chromium_ms_per_frame:.1f} ms"
        f" per frame decoded ({frame_rate:.0f} frames/s)"
        + (
            f"; Janus {room.janus_cores * 100:.1f} % of a core,"
            f" {room.janus_us_per_stream_s:.0f} µs per forwarded stream-second"
            if janus
            else ""
        ),
        flush=True,
    )
    return room


async def join_time(
    browser: Browser, base: str, mode: str, size: int, runs: int
) -> tuple[float, float]:
    """As bench/join_time.py: ``size - 1`` present, the last joiner timed ``runs`` times."""
    _, code = host_meeting(base)
    present: list[BrowserContext] = []
    first, everyone = [], []
    try:
        for number in range(size - 1):
            present.append(await new_person(browser))
            await enter(present[-1], base, code, f"Present {number + 1}")
        for run in range(runs):
            context = await new_person(browser)
            try:
                page = await join_as_guest(context, base, code, f"Timed {run + 1}")
                first_ms, all_ms = await page.evaluate(MEASURE, size - 1)
                plane = await page.locator("[data-state=room]").get_attribute("data-media-mode")
                if plane != mode:
                    raise RuntimeError(f"the timed page joined in {plane!r} mode, not {mode!r}")
                first.append(first_ms)
                everyone.append(all_ms)
                print(
                    f"  {mode} {size} people, run {run + 1}: first remote frame {first_ms:.0f} ms,"
                    f" all {size - 1} remote videos {all_ms:.0f} ms",
                    flush=True,
                )
                await page.locator("#leave").click()
            finally:
                await context.close()
    finally:
        for context in present:
            await context.close()
    middle = statistics.median(first)
    print(
        f"  {mode} {size} people: first remote frame median of {runs}: {middle:.0f} ms"
        f" (min {min(first):.0f}, max {max(first):.0f}); all remote videos median"
        f" {statistics.median(everyone):.0f} ms",
        flush=True,
    )
    return middle, statistics.median(everyone)


async def plane(
    mode: str, sizes: list[int], join_sizes: list[int], runs: int, sfu_mode: str = "auto"
) -> list[Room]:
    """Every room of one plane, on one ``parley up`` and one Chromium. A room that fails is
    reported (with the server's log) and the others still run."""
    env = {"PARLEY_SFU_MODE": sfu_mode if mode == "sfu" else "never"}
    if mode == "sfu":
        env |= {"PARLEY_JANUS_ICE_INTERFACES": VETH, "PARLEY_JANUS_RTP_PORTS": RTP_PORTS}
    print(f"{mode}: parley up with PARLEY_SFU_MODE={env['PARLEY_SFU_MODE']}", flush=True)
    rooms = {size: Room(mode, size) for size in sorted({*sizes, *join_sizes})}
    with tempfile.TemporaryDirectory(prefix="parley-bench-sfu-") as tmp:
        root = Path(tmp)

        def failed(size: int, what: str, exc: Exception) -> None:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            rooms[size].failed.append(f"{what}: {reason}")
            alive = "running" if server_pid() else "NOT running"
            print(f"  {mode} {size} people, {what} FAILED: {exc}", flush=True)
            print(f"  parley up is {alive}; its log ends:\n{tail(root / 'server.log')}", flush=True)

        async def measure(base: str) -> None:
            janus = find_janus(root / "data") if mode == "sfu" else None
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=SFU_CHROMIUM_ARGS
                )
                try:
                    for size in sizes:
                        try:
                            measured = await steady_room(browser, base, mode, size, janus)
                        except (PlaywrightError, RuntimeError) as exc:
                            failed(size, "steady room", exc)
                        else:
                            rooms[size] = measured
                    for size in join_sizes:
                        try:
                            joined = await join_time(browser, base, mode, size, runs)
                        except (PlaywrightError, RuntimeError) as exc:
                            failed(size, "join time", exc)
                        else:
                            rooms[size].join_ms, rooms[size].join_all_ms = joined
                finally:
                    await browser.close()

        # parley_up: PARLEY_ENV=test, log level warning, code lookups unlimited (every page
        # load looks the code up), its output in server.log. Not pinned: the browsers need
        # both cores as much as the server does.
        try:
            with parley_up(root, **env) as base:
                await measure(base)
        except ServerDidNotStart as exc:
            raise RuntimeError(f"parley up ({mode}) did not start:\n{exc}") from None
    return list(rooms.values())


# -- report -------------------------------------------------------------------------------------


def _cell(value: float | None, spec: str, width: int) -> str:
    if value is None or value != value:  # None or NaN: not measured
        return "-".rjust(width)
    return format(value, spec).rjust(width)


def report(rooms: list[Room]) -> None:
    header = (
        f"{'plane':<5} {'people':>6} {'fps/stream':>10} {'width px':>8} {'kbps up/page':>12}"
        f" {'Chromium ms CPU/frame':>21} {'Janus µs CPU/fwd stream-s':>25}"
        f" {'join median ms':>14} {'target ms':>9}"
    )
    print("\n" + header)
    print("-" * len(header))
    for room in rooms:
        target = TARGETS_MS.get(room.size) if room.mode == "sfu" and room.join_ms else None
        people = f"{room.size}*" if room.lost or room.incomplete else str(room.size)
        print(
            f"{room.mode:<5} {people:>6}"
            f" {_cell(median(room.fps), '.1f', 10)}"
            f" {_cell(median(room.widths), '.0f', 8)}"
            f" {_cell(median(room.kbps_up), '.0f', 12)}"
            f" {_cell(room.chromium_ms_per_frame, '.1f', 21)}"
            f" {_cell(room.janus_us_per_stream_s, '.0f', 25)}"
            f" {_cell(room.join_ms, '.0f', 14)}"
            f" {f'≤ {target:.0f}' if target else '':>9}"
        )
    for room in rooms:
        if room.incomplete:
            print(f"* {room.mode} {room.size}: window opened with {room.incomplete}")
        if room.lost:
            print(
                f"* {room.mode} {room.size}: {len(room.lost)} of {room.size} pages out of the"
                f" room during the window (figures from the others): {room.lost[0]}"
            )
        for failure in room.failed:
            print(f"{room.mode} {room.size} people, not measured: {failure}")
    print(
        "\nfps/stream and width: median over every remote video of every page; kbps up: median"
        " page, outbound-rtp bytesSent (RTP payload, audio and video, all connections);"
        " Chromium ms: CPU of the whole browser (every page encoding and decoding) per frame"
        " decoded on all pages; Janus µs: its process CPU per forwarded video stream"
        " (n·(n-1)) per second, ingest and audio included; join: click → first remote frame."
    )
    measured = [r for r in rooms if r.janus_us_per_stream_s == r.janus_us_per_stream_s]
    print(
        f"\nLiveKit, published: ≈{LIVEKIT_PER_CORE:,} forwarded video streams per core"
        " (150 publishers x 150 subscribers on 16 cores at 85 % CPU)."
    )
    if measured:
        clean = [r for r in measured if not r.lost and not r.incomplete]
        largest = max(clean or measured, key=lambda r: r.size)  # a room that held, if any
        per_core = CAPACITY_LOAD * 1e6 / largest.janus_us_per_stream_s
        print(
            f"Janus here, EXTRAPOLATED from a room of {largest.size}"
            f"{'*' if largest.lost or largest.incomplete else ''}"
            f" ({largest.size * (largest.size - 1)} forwarded streams at a median"
            f" {median(largest.fps):.1f} fps, {largest.janus_cores * 100:.1f} % of a core):"
            f" ≈{per_core:,.0f} forwarded video streams per core at {CAPACITY_LOAD:.0%} CPU —"
            " linear extrapolation, small-room fixed costs included, at these pages' frame"
            " rates, bitrates and layers; not a load test."
        )


async def main(runs: int, big: bool, join_only: bool, sfu_mode: str) -> None:
    sizes = [] if join_only else [4, 6, 8] if big else [4, 6]
    join_sizes = [4, 8] if big else [4]
    print(
        f"rooms of {', '.join(map(str, sizes))}: {HOLD_S:.0f} s window after everyone decodes"
        f" everyone; join time: median of {runs} runs for {', '.join(map(str, join_sizes))}"
        f" people; {os.cpu_count()} cores",
        flush=True,
    )
    rooms = await plane("mesh", sizes, join_sizes, runs)
    try:
        rooms += await plane("sfu", sizes, join_sizes, runs, sfu_mode)
    except RuntimeError as exc:  # no Janus after all: the mesh figures still stand
        print(f"sfu: not measured: {exc}", flush=True)
    report(rooms)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="joins timed per room (median)")
    parser.add_argument("--big", action="store_true", help="rooms of 8 too (needs more cores)")
    parser.add_argument(
        "--join-only", action="store_true", help="join times only (no steady rooms): quicker"
    )
    parser.add_argument(
        "--sfu-mode",
        choices=["auto", "always"],
        default="auto",
        help="the SFU plane's PARLEY_SFU_MODE (auto: rooms of 3 or more are on the SFU)",
    )
    args = parser.parse_args()
    if janus_binary() is None:
        sys.exit("janus is not installed: scripts/bootstrap.sh --test (apt janus janus-tools)")
    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} is missing: scripts/bootstrap.sh --test (apt chromium)")
    problem = netns.isolate()
    if problem:
        sys.exit(f"needs a loopback-only network namespace: {problem}")
    try:
        ensure_veth()
    except (NotIsolated, OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"Janus needs the veth {VETH} (127.0.0.2) in this namespace: {exc}")
    asyncio.run(main(args.runs, args.big, args.join_only, args.sfu_mode))
