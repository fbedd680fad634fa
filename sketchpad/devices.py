"""Device choice and precision policy.

`auto` picks CUDA, then MPS, then the CPU. The fast path is bf16 + channels_last on CPUs with
bf16 units (AVX512-BF16/AMX), fp16/bf16 on GPUs; `precision="fp32"` turns it off.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from sketchpad.errors import DeviceError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")


def flush_denormals() -> None:
    """Treat denormal floats as zero on the CPU. Trained weights and activations drift into the
    denormal range, where x86 arithmetic is ~10× slower (measured here: a trained generator went
    from 100 ms to 917 ms per frame in fp32). Denormals are far below anything visible."""
    torch.set_flush_denormal(True)


def app_threads() -> int:
    """Threads the app runs the model on: all cores but one. A thread team as wide as the
    machine stalls at every barrier when the GUI thread (or another program) takes a core: on
    2 busy cores a 15 ms generation then took up to a second."""
    return max(1, (os.cpu_count() or 1) - 1)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block on `n` intra-op threads, then restore the caller's count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cpu_has_bf16() -> bool:
    """True when oneDNN runs bf16 convolutions natively on this CPU."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for a user's choice; a clear DeviceError when it is not available."""
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise DeviceError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError("no CUDA GPU is available on this machine")
    if name == "mps" and not _mps_available():
        raise DeviceError("MPS is not available on this machine")
    return torch.device(name)


@dataclass(frozen=True)
class Precision:
    """What the fast path does on one device."""

    device: torch.device
    dtype: torch.dtype  # compute dtype: float32, bfloat16 or float16
    channels_last: bool

    @property
    def is_fast(self) -> bool:
        return self.dtype != torch.float32

    @property
    def name(self) -> str:
        return {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast for training (weights stay fp32); a no-op for fp32."""
        if not self.is_fast:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)


def choose_precision(device: torch.device, requested: str = "auto") -> Precision:
    if requested not in PRECISION_CHOICES:
        raise DeviceError(
            f"unknown precision {requested!r}; choose one of {', '.join(PRECISION_CHOICES)}"
        )
    if requested == "fp32":
        return Precision(device, torch.float32, False)
    if device.type == "cpu":
        if requested == "fp16":
            raise DeviceError("fp16 is not supported on the CPU; use bf16 or fp32")
        if requested == "bf16" or cpu_has_bf16():
            return Precision(device, torch.bfloat16, True)
        # fp32 in channels_last: oneDNN's direct convolutions, 1.6× faster than NCHW for the
        # default generator on an AVX2 CPU (30 vs 49 ms at 1 thread)
        return Precision(device, torch.float32, True)
    if device.type == "cuda":
        if requested == "auto":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            dtype = torch.bfloat16 if requested == "bf16" else torch.float16
        return Precision(device, dtype, True)
    return Precision(device, torch.float16 if requested == "fp16" else torch.float32, False)


def describe_device(device: torch.device, precision: Precision | None = None) -> str:
    """In words, for the status bar: "CPU, 2 threads, bf16" or "CUDA: <GPU name>"."""
    if device.type == "cuda":
        text = f"CUDA: {torch.cuda.get_device_name(device)}"
    elif device.type == "mps":
        text = "Apple GPU (MPS)"
    else:
        n = torch.get_num_threads()
        text = f"CPU, {n} thread{'s' if n != 1 else ''}"
    if precision is not None:
        text += f", {precision.name}"
    return text
