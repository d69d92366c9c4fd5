"""Where a network runs: the torch device a ``train.device`` string names, its precision, and deterministic CUDA."""

from __future__ import annotations

import os
from contextlib import nullcontext

import torch

#: cuBLAS workspace setting that makes its matrix products deterministic (CUDA docs).
CUBLAS_DETERMINISTIC_WORKSPACE: str = ":4096:8"


class DeviceUnavailable(RuntimeError):
    """The configured ``train.device`` does not exist on this machine."""


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; otherwise the named device, checked to exist on this machine."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:  # a device string from a caller of predict_softmax / extract_features
        raise ValueError(f"{name!r} is not a torch device: {exc}") from None
    if device.type != "cpu":
        count = device_count(device.type)
        if count == 0:
            raise DeviceUnavailable(f"train.device {name!r}, but this machine has no {device.type.upper()} device; use 'cpu' or 'auto'")
        if device.index is not None and device.index >= count:
            raise DeviceUnavailable(f"train.device {name!r}, but this machine has {count} {device.type.upper()} device(s)")
    return device


def device_count(kind: str) -> int:
    """How many devices of torch's ``kind`` (cuda, mps, xpu, ...) this machine has."""
    if kind == "mps":
        return int(torch.backends.mps.is_available())
    backend = getattr(torch, kind, None)
    available = backend is not None and callable(getattr(backend, "is_available", None)) and backend.is_available()
    return int(backend.device_count()) if available else 0


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX), where oneDNN's bf16 kernels pay."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's capability checks
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for training: bfloat16, or None for plain float32.

    ``auto``: bfloat16 on CUDA and on a CPU with native bfloat16 (bench/train.py
    measures the speed-up; docs/reference/ the accuracy parity on real MNIST),
    float32 elsewhere.
    """
    if precision == "bf16":
        return torch.bfloat16
    if precision == "auto" and (device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())):
        return torch.bfloat16
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast to ``dtype`` on ``device`` (from :func:`resolve_precision`); no-op for None (float32)."""
    return torch.autocast(device_type=device.type, dtype=dtype) if dtype is not None else nullcontext()


def request_deterministic_cuda() -> None:
    """Best effort at bit-reproducible CUDA runs (cuBLAS workspace, no cuDNN autotuning).

    ``CUBLAS_WORKSPACE_CONFIG`` only takes effect if set before cuBLAS first
    starts in this process; it is left alone if the user already set it.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC_WORKSPACE)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
