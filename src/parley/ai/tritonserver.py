"""Run a real Triton Inference Server on this machine's CPU with the ``tritonserver`` binary
that the ``nvidia-pytriton`` wheel ships (used by the tests, the bench, and for local trials).

Two details make the bundled binary work outside PyTriton:

- the Python backend needs the stub built for *this* interpreter's version, copied next to
  ``libtriton_python.so`` (the wheel keeps one per version under ``python_backend_stubs/``);
- the stub links ``libpython3.X.so``; unless ``LD_LIBRARY_PATH`` names the running
  interpreter's ``LIBDIR`` first, Debian's older libpython3.11 is loaded and model loading fails
  with ``'_thread.RLock' object has no attribute '_recursion_count'``.

The backend's Python must import ``parley`` and its dependencies, so ``PYTHONPATH`` carries
this environment's site-packages and the package's source folder.
"""

from __future__ import annotations

import os
import shutil
import site
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import parley

MODEL_REPOSITORY = Path(__file__).resolve().parents[3] / "deploy" / "triton" / "model_repository"


class TritonNotInstalled(RuntimeError):
    """nvidia-pytriton (which carries the server binary) is not installed."""


@dataclass(frozen=True)
class TritonLaunch:
    argv: list[str]
    env: dict[str, str]


def _pytriton_dir() -> Path:
    try:
        import pytriton
    except ImportError as exc:
        raise TritonNotInstalled(
            "nvidia-pytriton is not installed (pip install nvidia-pytriton)"
        ) from exc
    return Path(pytriton.__file__).parent


def launch(
    workdir: Path,
    http_port: int,
    grpc_port: int,
    metrics_port: int,
    model_repository: Path = MODEL_REPOSITORY,
) -> TritonLaunch:
    """The command line and environment of a tritonserver serving ``model_repository``."""
    dist = _pytriton_dir() / "tritonserver"
    binary = dist / "bin" / "tritonserver"
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    stub = dist / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not binary.is_file() or not stub.is_file():
        raise TritonNotInstalled(f"no tritonserver or Python {version} stub under {dist}")
    backend = workdir / "backends" / "python"
    backend.mkdir(parents=True, exist_ok=True)
    for name in ("libtriton_python.so", "triton_python_backend_utils.py"):
        shutil.copy(dist / "backends" / "python" / name, backend / name)
    shutil.copy(stub, backend / "triton_python_backend_stub")
    (backend / "triton_python_backend_stub").chmod(0o755)

    libs = [
        str(sysconfig.get_config_var("LIBDIR") or ""),
        str(dist.parent.parent / "nvidia_pytriton.libs"),
    ]
    libs += [str(dist / "external_libs")]
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = ":".join([*libs, env.get("LD_LIBRARY_PATH", "")]).rstrip(":")
    source = str(Path(parley.__file__).resolve().parents[1])
    env["PYTHONPATH"] = ":".join(
        [source, *site.getsitepackages(), env.get("PYTHONPATH", "")]
    ).rstrip(":")
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    argv = [
        str(binary),
        f"--model-repository={model_repository}",
        f"--backend-directory={workdir / 'backends'}",
        f"--cache-directory={dist / 'caches'}",
        "--http-address=127.0.0.1",
        f"--http-port={http_port}",
        "--grpc-address=127.0.0.1",
        f"--grpc-port={grpc_port}",
        f"--metrics-port={metrics_port}",
        "--allow-metrics=false",
        "--allow-gpu-metrics=false",
        "--exit-timeout-secs=2",
        "--log-verbose=0",
    ]
    return TritonLaunch(argv, env)
