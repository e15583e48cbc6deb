"""The nginx gateway's configuration, rendered from the templates in ``deploy/nginx/``.

``parley gateway render`` and ``parley cluster up`` both fill the templates here: ports, TLS,
the web client's page paths and one ``conf.d/<upstream>.servers.conf`` per service (the files
``gateway render --upstreams-only`` rewrites so that ``nginx -s reload`` picks up new nodes).
Nothing here starts a process; :mod:`parley.supervisor` runs what this writes.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

UPSTREAMS: dict[str, str] = {
    "users": "user_service",
    "signaling": "signaling_service",
    "meetings": "meeting_service",
    "media": "media_service",
    "ai": "ai_inference_service",
}
"""nginx upstream name of each service (the seed's names)."""

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


class GatewayError(RuntimeError):
    """The gateway's configuration cannot be made or nginx rejects it; the message says why."""


def template_dir() -> Path:
    """Where the gateway templates live: ``PARLEY_NGINX_TEMPLATES`` or the checkout's
    ``deploy/nginx`` (the container image copies it to the path it sets in that variable)."""
    configured = os.environ.get("PARLEY_NGINX_TEMPLATES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "deploy" / "nginx"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        raise GatewayError("nginx is not installed (apt-get install nginx)")
    return found


def fill(template: str, values: Mapping[str, object]) -> str:
    """Replace ``{{name}}`` placeholders; an unknown name is an error, not a silent blank."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise GatewayError(f"template placeholder {{{{{name}}}}} has no value")
        return str(values[name])

    return _PLACEHOLDER.sub(replace, template)


def page_locations(paths: Iterable[str]) -> str:
    """nginx locations that answer the web client's page paths with its one HTML shell."""
    lines = []
    for path in paths:
        if "{" in path:
            head = "location ~ ^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"
        else:
            head = f"location = {path}"
        lines.append(
            f"{head} {{\n    root {{{{static_dir}}}};\n    try_files /app.html =404;\n"
            "    expires epoch;\n    include snippets/security-headers.conf;\n}"
        )
    return "\n".join(lines)


@dataclass
class GatewayConfig:
    """What the gateway templates need: ports, upstream servers, paths."""

    upstreams: dict[str, list[str]]
    run_dir: Path
    http_port: int = 8800
    tls_port: int | None = None
    ssl_certificate: Path | None = None
    ssl_certificate_key: Path | None = None
    listen_address: str = "0.0.0.0"  # noqa: S104 (the gateway is what the outside reaches)
    static_dir: Path | None = None
    worker_user: str | None = None
    worker_processes: str = "auto"
    access_log: str = "/dev/stdout"
    error_log: str = "stderr"
    auth_rate: str = "10r/s"
    auth_burst: int = 20
    ai_max_body: str = "256m"
    fail_timeout_s: int = 10


def upstream_servers(addresses: Sequence[str], fail_timeout_s: int) -> str:
    """One ``server`` line per node, with nginx's passive health check."""
    return "".join(
        f"server {address} max_fails=1 fail_timeout={fail_timeout_s}s;\n" for address in addresses
    )


def write_upstream_files(conf_dir: Path, upstreams: Mapping[str, Sequence[str]], fail: int) -> None:
    """``conf.d/<upstream>.servers.conf`` for each service (what `gateway render` rewrites)."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    for service, addresses in upstreams.items():
        if not addresses:
            raise GatewayError(f"no address for {service}: nginx needs at least one server")
        target = conf_dir / f"{UPSTREAMS[service]}.servers.conf"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(upstream_servers(addresses, fail))
        tmp.replace(target)


def render_gateway(config: GatewayConfig, out_dir: Path, templates: Path | None = None) -> Path:
    """Write nginx.conf, its locations, snippets and upstream files into ``out_dir``."""
    from parley.web import PAGE_PATHS, STATIC_DIR

    templates = templates or template_dir()
    if not (templates / "nginx.conf.template").is_file():
        raise GatewayError(f"no gateway templates in {templates} (set PARLEY_NGINX_TEMPLATES)")
    missing = set(UPSTREAMS) - set(config.upstreams)
    if missing:
        raise GatewayError(f"no upstream servers for {', '.join(sorted(missing))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    config.run_dir.mkdir(parents=True, exist_ok=True)
    static_dir = (config.static_dir or STATIC_DIR).resolve()
    values: dict[str, object] = {
        "user_directive": f"user {config.worker_user};" if config.worker_user else "",
        "worker_processes": config.worker_processes,
        "run_dir": config.run_dir.resolve(),
        "error_log": config.error_log,
        "access_log": config.access_log,
        "auth_rate": config.auth_rate,
        "auth_burst": config.auth_burst,
        "ai_max_body": config.ai_max_body,
        "listen_address": config.listen_address,
        "http_port": config.http_port,
        "static_dir": static_dir,
        "tls_server": "",
    }
    if config.tls_port:
        if not (config.ssl_certificate and config.ssl_certificate_key):
            raise GatewayError(
                "TLS needs a certificate and key (deploy/nginx/ssl/make-dev-cert.sh)"
            )
        values.update(
            tls_port=config.tls_port,
            ssl_certificate=config.ssl_certificate.resolve(),
            ssl_certificate_key=config.ssl_certificate_key.resolve(),
        )
        values["tls_server"] = fill((templates / "tls-server.conf.template").read_text(), values)
    values["page_locations"] = fill(page_locations(PAGE_PATHS), values)
    (out_dir / "nginx.conf").write_text(
        fill((templates / "nginx.conf.template").read_text(), values)
    )
    (out_dir / "parley-locations.conf").write_text(
        fill((templates / "locations.conf.template").read_text(), values)
    )
    shutil.copytree(templates / "snippets", out_dir / "snippets", dirs_exist_ok=True)
    write_upstream_files(out_dir / "conf.d", config.upstreams, config.fail_timeout_s)
    return out_dir / "nginx.conf"


def check_gateway(conf: Path, nginx: str | None = None) -> None:
    """``nginx -t`` on a rendered config; raises with nginx's message when it is invalid."""
    done = subprocess.run(  # noqa: S603 (fixed argv)
        [nginx or nginx_binary(), "-t", "-q", "-p", str(conf.parent), "-c", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise GatewayError(f"nginx rejects {conf}: {done.stderr.strip()}")


def default_worker_user() -> str | None:
    """nginx's workers drop root; as another user nginx ignores the directive anyway."""
    if os.geteuid() != 0:
        return None
    for name in ("www-data", "nginx", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    return None
