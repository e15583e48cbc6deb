"""Run Janus (the SFU) as a child of Parley: its config, its process, its restarts.

Debian's stock ``/etc/janus`` listens on every interface, ships a well-known admin secret and
loads every plugin and transport (one of whose configs does not even parse), so Parley never
uses it: it writes a config folder of its own (only VideoRoom, only the HTTP API, both APIs on
127.0.0.1 behind fresh secrets) and starts ``janus`` on it. ``parley up`` does that by itself
when Janus is installed (:func:`start_embedded_janus`); a separately run Janus is given with
``PARLEY_JANUS_URL`` instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import httpx
import structlog
from pydantic import SecretStr

from parley.config import Settings

log = structlog.get_logger("parley.rtc")

VIDEOROOM = "libjanus_videoroom.so"
HTTP_TRANSPORT = "libjanus_http.so"
# Disabled even when the package's folders cannot be listed (all but HTTP are unwanted).
KNOWN_TRANSPORTS = (
    "libjanus_websockets.so",
    "libjanus_mqtt.so",
    "libjanus_nanomsg.so",
    "libjanus_rabbitmq.so",
    "libjanus_pfunix.so",
)
# Janus refuses to write recordings under these (it checks a room's rec_dir against them).
# /var, /opt, /home and /tmp are left out: Parley's data dir may well live there.
PROTECTED_FOLDERS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/proc",
    "/sbin",
    "/sys",
    "/usr",
)
DEFAULT_HTTP_PORT = 8088
DEFAULT_ADMIN_PORT = 7088
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 30.0
STABLE_RUN_S = 30.0  # a run this long resets the restart back-off
WATCH_INTERVAL_S = 0.2


class JanusStartError(RuntimeError):
    """Janus could not be started or did not answer; the message says why."""


def janus_binary() -> str | None:
    """The ``janus`` executable, or None when Janus is not installed."""
    found = shutil.which("janus")
    if found:
        return found
    return "/usr/bin/janus" if os.access("/usr/bin/janus", os.X_OK) else None


@dataclass(frozen=True)
class JanusFolders:
    """Where the installed package keeps its modules (Debian: /usr/lib/<triplet>/janus)."""

    plugins: Path
    transports: Path
    events: Path
    loggers: Path


@cache
def janus_folders() -> JanusFolders | None:
    """The package's module folders: the first that holds VideoRoom and the HTTP transport."""
    bases = [Path(p) for p in sorted(glob.glob("/usr/lib/*/janus"))]
    binary = janus_binary()
    if binary:  # a build under a prefix (/opt/janus/bin/janus → /opt/janus/lib/janus)
        bases.append(Path(binary).resolve().parent.parent / "lib" / "janus")
    bases += [Path("/usr/lib/janus"), Path("/usr/local/lib/janus")]
    for base in bases:
        if (base / "plugins" / VIDEOROOM).is_file() and (
            base / "transports" / HTTP_TRANSPORT
        ).is_file():
            return JanusFolders(
                base / "plugins", base / "transports", base / "events", base / "loggers"
            )
    return None


@dataclass
class JanusConfig:
    """What differs between one Janus of ours and another (ports, secrets, addresses)."""

    http_port: int
    admin_port: int
    api_secret: str
    admin_secret: str
    admin_key: str  # VideoRoom's: room creation and RTP forwarding
    rtp_ports: str = "20000-20199"
    ice_interfaces: str | None = None  # ice_enforce_list; None: every interface
    public_ip: str | None = None  # nat_1_1_mapping, for a Janus behind NAT
    rec_dir: Path = Path("recordings")
    session_timeout: int = 60


def _q(value: str | Path) -> str:
    """A libconfig string literal (backslash, quote and control characters escaped)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c >= " " else f"\\x{ord(c):02x}" for c in text) + '"'


def _modules(folder: Path | None, keep: str = "", known: tuple[str, ...] = ()) -> str:
    """Every module in ``folder`` (and ``known``) but ``keep``, as Janus's ``disable`` list."""
    names = set(known)
    if folder is not None and folder.is_dir():
        names |= {p.name for p in folder.iterdir() if p.name.endswith(".so")}
    names.discard(keep)
    return ",".join(sorted(names))


def _rtp_range(ports: str) -> str:
    low, sep, high = ports.partition("-")
    if not (sep and low.strip().isdigit() and high.strip().isdigit()):
        raise ValueError(f"janus_rtp_ports must look like 20000-20199, not {ports!r}")
    if not 0 < int(low) <= int(high) < 65536:
        raise ValueError(f"janus_rtp_ports {ports!r} is not a port range")
    return f"{int(low)}-{int(high)}"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner only (the files hold secrets), atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)
    os.replace(tmp, path)


def render_janus_config(conf_dir: Path, cfg: JanusConfig) -> Path:
    """Write Janus's config folder (three files, mode 0600) and return ``janus.jcfg``'s path."""
    conf_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    cfg.rec_dir.mkdir(parents=True, exist_ok=True)
    folders = janus_folders()
    general = [
        f"configs_folder = {_q(conf_dir)}",
        "debug_level = 3",  # warnings and errors: 4 logs every session and handle
        "debug_colors = false",
        "debug_timestamps = true",
        f"session_timeout = {int(cfg.session_timeout)}",
        f"api_secret = {_q(cfg.api_secret)}",
        f"admin_secret = {_q(cfg.admin_secret)}",
        'server_name = "parley"',
        "hide_dependencies = true",
        "protected_folders = [" + ", ".join(_q(p) for p in PROTECTED_FOLDERS) + "]",
    ]
    if folders is not None:
        general += [
            f"plugins_folder = {_q(folders.plugins)}",
            f"transports_folder = {_q(folders.transports)}",
            f"events_folder = {_q(folders.events)}",
            f"loggers_folder = {_q(folders.loggers)}",
        ]
    nat = ["nice_debug = false", "ignore_mdns = true"]
    if cfg.ice_interfaces:
        nat.append(f"ice_enforce_list = {_q(cfg.ice_interfaces)}")
    if cfg.public_ip:
        nat.append(f"nat_1_1_mapping = {_q(cfg.public_ip)}")
    plugins = _modules(folders.plugins if folders else None, keep=VIDEOROOM)
    transports = _modules(folders.transports if folders else None, HTTP_TRANSPORT, KNOWN_TRANSPORTS)
    loggers = _modules(folders.loggers if folders else None)
    sections = {
        "general": general,
        "certificates": [],  # none: Janus makes a self-signed DTLS certificate at start
        "media": ["ipv6 = false", f"rtp_port_range = {_q(_rtp_range(cfg.rtp_ports))}"],
        "nat": nat,
        "plugins": [f"disable = {_q(plugins)}"] if plugins else [],
        "transports": [f"disable = {_q(transports)}"],
        "loggers": [f"disable = {_q(loggers)}"] if loggers else [],
        "events": ["broadcast = false"],
    }
    main = conf_dir / "janus.jcfg"
    _write_private(main, _render(sections))
    http = {
        "general": [
            'json = "compact"',
            'base_path = "/janus"',
            "http = true",  # without it: "No Janus API transport is available"
            f"port = {int(cfg.http_port)}",
            "https = false",
            'ip = "127.0.0.1"',
            'acl = "127."',
        ],
        "admin": [
            'admin_base_path = "/admin"',
            "admin_http = true",
            f"admin_port = {int(cfg.admin_port)}",
            "admin_https = false",
            'admin_ip = "127.0.0.1"',
            'admin_acl = "127."',
        ],
        "cors": [],
    }
    _write_private(conf_dir / "janus.transport.http.jcfg", _render(http))
    videoroom = {
        "general": [
            f"admin_key = {_q(cfg.admin_key)}",
            "lock_rtp_forward = true",
            "string_ids = true",  # room and feed ids are Parley's UUIDs
        ]
    }
    _write_private(conf_dir / "janus.plugin.videoroom.jcfg", _render(videoroom))
    return main


def _render(sections: dict[str, list[str]]) -> str:
    body = "".join(
        f"{name}: {{\n" + "".join(f"\t{line}\n" for line in lines) + "}\n"
        for name, lines in sections.items()
    )
    return "# Written by Parley (parley.rtc.process): edits are overwritten at start.\n" + body


class JanusProcess:
    """One ``janus`` child on a config folder of ours, optionally restarted when it dies.

    Janus keeps rooms and sessions in memory only, so a restart loses them: whoever drives
    it (the room logic) must recreate rooms; :attr:`restarts` tells it that one happened.
    """

    def __init__(self, cfg: JanusConfig, conf_dir: Path, log_path: Path | None = None) -> None:
        self.cfg = cfg
        self.conf_dir = conf_dir
        self.log_path = log_path or conf_dir / "janus.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._started_at = 0.0

    @property
    def url(self) -> str:
        """The Janus (HTTP) API's base URL."""
        return f"http://127.0.0.1:{self.cfg.http_port}/janus"

    @property
    def admin_url(self) -> str:
        """The admin/monitor API's base URL (requests carry ``admin_secret``)."""
        return f"http://127.0.0.1:{self.cfg.admin_port}/admin"

    @property
    def pid_file(self) -> Path:
        return self.conf_dir / "janus.pid"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Render the config, start Janus and return once its API answers.

        Raises :class:`JanusStartError` (the process is then stopped) when it exits or does
        not answer within ``timeout`` seconds.
        """
        self._stopping.clear()
        render_janus_config(self.conf_dir, self.cfg)
        self._kill_stale()
        with self._lock:
            self._spawn()
            try:
                self._wait_ready(timeout)
            except JanusStartError:
                self._terminate()
                raise

    def supervise(self) -> None:
        """Restart Janus whenever it exits without :meth:`stop` (a daemon thread watches)."""
        if self._watcher is None or not self._watcher.is_alive():
            self._watcher = threading.Thread(target=self._watch, name="janus-watch", daemon=True)
            self._watcher.start()

    def stop(self) -> None:
        """Stop watching, then end Janus: SIGTERM, and SIGKILL if it lingers."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=START_TIMEOUT_S + STOP_TIMEOUT_S)
            self._watcher = None
        with self._lock:
            self._terminate()

    def _spawn(self) -> None:
        binary = janus_binary()
        if binary is None:
            raise JanusStartError("janus is not installed")
        conf = str(self.conf_dir)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            # A session of its own: a Ctrl-C at the terminal reaches Parley, which stops
            # Janus itself (else the watcher would see it die and restart it mid-shutdown).
            self.process = subprocess.Popen(  # noqa: S603 (argv built here, no shell)
                [binary, "-F", conf, "-C", str(self.conf_dir / "janus.jcfg")],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._started_at = time.monotonic()
        self.pid_file.write_text(f"{self.process.pid}\n")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while True:
                process = self.process
                if process is None or process.poll() is not None:
                    code = None if process is None else process.returncode
                    raise JanusStartError(f"janus exited ({code}): {self._log_tail()}")
                if self._stopping.is_set():
                    raise JanusStartError("stopped while starting")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/info").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise JanusStartError(
                        f"janus did not answer on {self.url} within {timeout} s: "
                        + self._log_tail()
                    )
                time.sleep(0.1)

    def _terminate(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(OSError):
            self.pid_file.unlink()

    def _kill_stale(self) -> None:
        """End a Janus a killed Parley left running on this config folder (it holds ports)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return
        if (
            not cmdline
            or not cmdline[0].endswith(b"janus")
            or str(self.conf_dir).encode() not in cmdline
        ):
            return
        log.warning("janus_stale_process", pid=pid, conf_dir=str(self.conf_dir))
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _running(pid):
                os.kill(pid, signal.SIGKILL)

    def _log_tail(self, size: int = 1500) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - size))
                return f.read().decode(errors="replace").strip()
        except OSError:
            return "(no log)"

    def _watch(self) -> None:
        quick_exits = 0
        while not self._stopping.wait(WATCH_INTERVAL_S):
            process = self.process
            if process is None or process.poll() is None:
                continue
            ran = time.monotonic() - self._started_at
            quick_exits = quick_exits + 1 if ran < STABLE_RUN_S else 1
            delay = min(RESTART_DELAY_S * 2 ** (quick_exits - 1), MAX_RESTART_DELAY_S)
            log.warning("janus_exited", code=process.returncode, restart_in_s=delay)
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.restarts += 1
                try:
                    self._spawn()
                    self._wait_ready(START_TIMEOUT_S)
                except (JanusStartError, OSError) as exc:
                    if self._stopping.is_set():
                        return
                    log.warning("janus_restart_failed", error=str(exc))
                    if self.alive():  # hung: kill it, so that the next round restarts it
                        self._terminate()
                    continue
            log.info("janus_restarted", restarts=self.restarts, url=self.url)


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and has not ended (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _port_or_free(preferred: int) -> int:
    """``preferred`` if nothing listens there on 127.0.0.1, else a free ephemeral port."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free port on 127.0.0.1")


def start_embedded_janus(settings: Settings) -> JanusProcess | None:
    """``parley up``'s own Janus, or None when rooms stay in mesh (the log says why).

    On success the settings carry its URL, API secret and admin key, so that the app (built
    afterwards from the same settings) drives it. Janus failing never stops Parley.
    """
    if settings.sfu_mode == "never":
        log.info("janus_not_started", reason="sfu_mode=never: rooms use peer-to-peer mesh")
        return None
    if settings.janus_url is not None:
        log.info(
            "janus_not_started", reason="janus_url is set: using that Janus", url=settings.janus_url
        )
        return None
    if janus_binary() is None:
        log.info("janus_not_started", reason="janus is not installed: rooms use peer-to-peer mesh")
        return None
    root = settings.data_dir.resolve() / "janus"  # Janus and recording paths: absolute
    proc: JanusProcess | None = None
    try:
        cfg = JanusConfig(
            http_port=_port_or_free(DEFAULT_HTTP_PORT),
            admin_port=_port_or_free(DEFAULT_ADMIN_PORT),
            api_secret=secrets.token_urlsafe(32),
            admin_secret=secrets.token_urlsafe(32),
            admin_key=secrets.token_urlsafe(32),
            rtp_ports=settings.janus_rtp_ports,
            ice_interfaces=settings.janus_ice_interfaces,
            public_ip=settings.janus_public_ip,
            rec_dir=root / "recordings",
        )
        proc = JanusProcess(cfg, root, log_path=root / "janus.log")
        proc.start()
    except (JanusStartError, OSError, ValueError) as exc:
        log.warning(
            "janus_start_failed",
            error=str(exc),
            log=str(root / "janus.log"),
            hint="rooms use peer-to-peer mesh",
        )
        if proc is not None:
            proc.stop()
        return None
    proc.supervise()
    settings.janus_url = proc.url
    settings.janus_api_secret = SecretStr(cfg.api_secret)
    settings.janus_admin_key = SecretStr(cfg.admin_key)
    settings.janus_admin_url = proc.admin_url
    settings.janus_admin_secret = SecretStr(cfg.admin_secret)
    log.info("janus_started", url=proc.url, rtp_ports=cfg.rtp_ports, log=str(proc.log_path))
    return proc


def describe_sfu(settings: Settings) -> str:
    """One line for the console: is the SFU on, and if not, why."""
    if settings.sfu_mode == "never":
        return "SFU off (sfu_mode=never): rooms use peer-to-peer mesh"
    if settings.janus_url:
        return f"SFU on: Janus at {settings.janus_url} (sfu_mode={settings.sfu_mode})"
    if janus_binary() is None:
        return "SFU off: janus is not installed, rooms use peer-to-peer mesh"
    log_file = settings.data_dir / "janus" / "janus.log"
    return f"SFU off: Janus did not start (see {log_file}), rooms use peer-to-peer mesh"
