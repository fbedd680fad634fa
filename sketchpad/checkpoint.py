"""Model files: safetensors tensors for the generator (and the discriminator when present) plus
one JSON metadata entry with everything needed to rebuild the networks. Loading never
unpickles anything; every way a file can be wrong raises `ModelFileError` with a message that
says what is wrong and what to do.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes
from torch import nn

from models import (
    DiscriminatorConfig,
    GeneratorConfig,
    InvalidConfig,
    build_discriminator,
    build_generator,
    config_from_dict,
    config_to_dict,
)
from sketchpad.errors import ModelFileError

FORMAT = "sketchpad-model"
FORMAT_VERSION = 1
_META_KEY = "sketchpad"


@dataclass
class LoadedModel:
    generator: nn.Module
    generator_config: GeneratorConfig
    discriminator: nn.Module | None = None
    discriminator_config: DiscriminatorConfig | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.metadata.get("name") or (self.path.stem if self.path else "model")

    @property
    def resolution(self) -> int:
        return self.generator_config.resolution


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash at any moment leaves the old file or the new one,
    never a torn file: temp file in the same folder, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # an ordinary file (mkstemp makes it private)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def _tensors(prefix: str, module: nn.Module, dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    out = {}
    for key, t in module.state_dict().items():
        t = t.detach().to("cpu")
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        out[f"{prefix}.{key}"] = t.contiguous().clone()
    return out


def save_model(
    path: str | Path,
    generator: nn.Module,
    generator_config: GeneratorConfig,
    discriminator: nn.Module | None = None,
    discriminator_config: DiscriminatorConfig | None = None,
    *,
    storage_dtype: torch.dtype | None = None,
    **metadata: Any,
) -> Path:
    """Write a model file. `metadata` (step, description, data, name, ...) must be JSON-able.
    `storage_dtype=torch.float16` halves the size; loading casts back to float32."""
    path = Path(path)
    tensors = _tensors("G", generator, storage_dtype)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generator": config_to_dict(generator_config),
        "discriminator": None,
        **metadata,
    }
    if discriminator is not None:
        if discriminator_config is None:
            raise ValueError("a discriminator needs its config")
        tensors.update(_tensors("D", discriminator, storage_dtype))
        meta["discriminator"] = config_to_dict(discriminator_config)
    header = {_META_KEY: json.dumps(meta, sort_keys=True), "format": FORMAT}
    atomic_write_bytes(path, safetensors_bytes(tensors, metadata=header))
    return path


def _sniff(path: Path) -> str | None:
    """Name a well-known non-safetensors format from the first bytes, or None."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] == b"PK\x03\x04":
        return "a PyTorch checkpoint (zip archive of pickles)"
    if head[:1] == b"\x80" and len(head) > 1 and head[1:2] in b"\x02\x03\x04\x05":
        return "a Python pickle"
    if head[:8] == b"\x89PNG\r\n\x1a\n" or head[:3] == b"\xff\xd8\xff":
        return "an image"
    return None


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a model file, checked for format and version, without tensors."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    kind = _sniff(path)
    if kind is not None:
        raise ModelFileError(
            f"{path.name} is {kind}, not a Sketchpad model file. Sketchpad never unpickles "
            "files (it could run code); open a .safetensors file exported by `sketchpad train`."
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(
            f"{path.name} is not a readable safetensors file ({exc}). It may be truncated or "
            "damaged: copy it again or re-export it from its training run."
        ) from exc
    raw = header.get(_META_KEY)
    if raw is None:
        raise ModelFileError(
            f"{path.name} is a safetensors file but not a Sketchpad model (no '{_META_KEY}' "
            "metadata). Open a model exported by `sketchpad train`."
        )
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path.name}: its metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path.name}: unknown model format {meta.get('format')!r}")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path.name} uses model format version {version!r}; this Sketchpad reads up to "
            f"{FORMAT_VERSION}. Update Sketchpad to open it."
        )
    return meta


def _load_tensors(module: nn.Module, prefix: str, f, path: Path) -> None:
    """Load the file's `prefix.*` tensors into `module`, checking names and shapes first."""
    keys = [k for k in f.keys() if k.startswith(prefix + ".")]  # noqa: SIM118 (safe_open)
    expected = module.state_dict()
    missing = sorted(set(expected) - {k[len(prefix) + 1 :] for k in keys})
    unexpected = sorted({k[len(prefix) + 1 :] for k in keys} - set(expected))
    what = "generator" if prefix == "G" else "discriminator"
    if missing or unexpected:
        raise ModelFileError(
            f"{path.name}: the {what} tensors do not fit its configuration "
            f"(missing: {', '.join(missing[:4]) or 'none'}; unexpected: "
            f"{', '.join(unexpected[:4]) or 'none'}). The file is damaged or was edited."
        )
    state = {}
    for key in keys:
        name = key[len(prefix) + 1 :]
        t = f.get_tensor(key)
        ref = expected[name]
        if t.shape != ref.shape:
            raise ModelFileError(
                f"{path.name}: {what} tensor {name} has shape {tuple(t.shape)} but its "
                f"configuration needs {tuple(ref.shape)}. The file is damaged or was edited."
            )
        state[name] = t.to(ref.dtype) if t.is_floating_point() else t
    module.load_state_dict(state, strict=True)


def load_model(path: str | Path, *, with_discriminator: bool = True) -> LoadedModel:
    """Rebuild the networks from the file alone (float32, CPU, eval mode)."""
    path = Path(path)
    meta = read_metadata(path)
    try:
        g_config = config_from_dict(GeneratorConfig, meta.get("generator"))
        d_raw = meta.get("discriminator")
        d_config = config_from_dict(DiscriminatorConfig, d_raw) if d_raw else None
        generator = build_generator(g_config)
        discriminator = (
            build_discriminator(d_config) if d_config is not None and with_discriminator else None
        )
    except (InvalidConfig, ValueError, TypeError) as exc:
        raise ModelFileError(f"{path.name}: its network configuration is invalid: {exc}") from exc
    try:
        with safe_open(str(path), framework="pt") as f:
            _load_tensors(generator, "G", f, path)
            if discriminator is not None:
                _load_tensors(discriminator, "D", f, path)
    except (SafetensorError, OSError) as exc:
        raise ModelFileError(
            f"{path.name}: its tensors cannot be read ({exc}); the file is probably truncated. "
            "Copy it again or re-export it."
        ) from exc
    generator.eval()
    if discriminator is not None:
        discriminator.eval()
    return LoadedModel(generator, g_config, discriminator, d_config, meta, path)
