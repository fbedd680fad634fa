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
from sketchpad.train.run_files import MODEL_NAME

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

    @property
    def takes_hints(self) -> bool:
        """The generator has colour-hint inputs (older model files do not)."""
        return self.generator_config.hint_channels > 0

    @property
    def takes_noise(self) -> bool:
        return self.generator_config.noise_channels > 0 and self.generator_config.arch == "mru"

    @property
    def inputs(self) -> tuple[str, ...]:
        """What the generator takes: ("ink",), plus "hints" and "noise" where it has them."""
        return self.generator_config.inputs


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


MAX_HEADER_BYTES = 16 * 1024 * 1024
"""The largest safetensors header (tensor table + metadata) a model file may have: a network
within its configs' limits lists far fewer tensors; a bigger header is not a model."""
TEXT_LIMITS = {"name": 1024, "description": 65536, "data": 65536, "sketch_encoding": 64}
"""Metadata strings and their longest allowed length (characters)."""
_FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}
_INT_DTYPES = {"I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64"}


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


def _check_file(path: Path) -> None:
    """A model path that is a readable file in no well-known other format, whose safetensors
    header length (the first 8 bytes) fits the file and `MAX_HEADER_BYTES`."""
    if path.is_dir():
        exported = path / MODEL_NAME  # what `sketchpad train --out FOLDER` exports
        hint = (
            f"; a training run's model is {exported}"
            if exported.is_file()
            else "; choose a .safetensors model file"
        )
        raise ModelFileError(f"{path} is a folder, not a model file{hint}.")
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        kind = _sniff(path)
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise ModelFileError(f"{path.name} cannot be read ({exc.strerror or exc}).") from exc
    if kind is not None:
        raise ModelFileError(
            f"{path.name} is {kind}, not a Sketchpad model file. Sketchpad never unpickles "
            "files (it could run code); open a .safetensors file exported by `sketchpad train`."
        )
    if len(head) == 8:
        header_bytes = int.from_bytes(head, "little")
        if header_bytes > MAX_HEADER_BYTES:
            raise ModelFileError(
                f"{path.name} is not a Sketchpad model: its header claims {header_bytes:,} "
                f"bytes (a model's is at most {MAX_HEADER_BYTES:,}). The file is damaged or is "
                "something else; open a .safetensors file exported by `sketchpad train`."
            )
        if header_bytes + 8 > size:
            raise ModelFileError(
                f"{path.name} is truncated (its header claims {header_bytes:,} bytes, the file "
                f"has {size:,}). Copy it again or re-export it from its training run."
            )


def _check_fields(meta: dict[str, Any], name: str) -> None:
    """The metadata besides the configs: format version, training step and texts."""
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(
            f"{name}: its metadata field format_version must be a whole number ≥ 1, got "
            f"{version!r}. The file is damaged or was edited."
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name} uses model format version {version}; this Sketchpad reads up to "
            f"{FORMAT_VERSION}. Update Sketchpad to open it."
        )
    step = meta.get("step")
    if step is not None and (not isinstance(step, int) or isinstance(step, bool) or step < 0):
        raise ModelFileError(
            f"{name}: its metadata field step must be a whole number ≥ 0, got {step!r}. The "
            "file is damaged or was edited."
        )
    for key, longest in TEXT_LIMITS.items():
        value = meta.get(key)
        if value is not None and not isinstance(value, str):
            raise ModelFileError(
                f"{name}: its metadata field {key} must be text, got {type(value).__name__}. "
                "The file is damaged or was edited."
            )
        if value is not None and len(value) > longest:
            raise ModelFileError(
                f"{name}: its metadata field {key} is {len(value):,} characters long (at most "
                f"{longest:,}). The file is damaged or was edited."
            )
    if "ema" in meta and not isinstance(meta["ema"], bool):
        raise ModelFileError(f"{name}: its metadata field ema must be true or false")


def _configs(meta: dict[str, Any], name: str) -> tuple[GeneratorConfig, DiscriminatorConfig | None]:
    """The networks' configs from the metadata, each field within its limits (so nothing built
    from them asks for absurd memory), and the discriminator matching the generator."""
    try:
        g_config = config_from_dict(GeneratorConfig, meta.get("generator"))
        d_raw = meta.get("discriminator")
        d_config = config_from_dict(DiscriminatorConfig, d_raw) if d_raw else None
    except (InvalidConfig, ValueError, TypeError) as exc:
        raise ModelFileError(f"{name}: its network configuration is invalid: {exc}") from exc
    if d_config is not None:
        pairs = (
            ("resolution", d_config.resolution, g_config.resolution),
            ("in_channels", d_config.in_channels, g_config.in_channels + g_config.out_channels),
        )
        for field_name, got, needed in pairs:
            if got != needed:
                raise ModelFileError(
                    f"{name}: its network configuration is invalid: DiscriminatorConfig."
                    f"{field_name} is {got} but the generator needs {needed}. The file is "
                    "damaged or was edited."
                )
    return g_config, d_config


def _read_header(path: Path) -> tuple[dict[str, Any], GeneratorConfig, DiscriminatorConfig | None]:
    """The metadata and the configs of a model file, every field checked, no tensor read."""
    _check_file(path)
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
    except RecursionError as exc:
        raise ModelFileError(f"{path.name}: its metadata is nested too deeply") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelFileError(f"{path.name}: unknown model format {found!r}")
    _check_fields(meta, path.name)
    g_config, d_config = _configs(meta, path.name)
    return meta, g_config, d_config


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a model file, checked (format, version, every field, the configs
    within their limits), without reading a tensor."""
    return _read_header(Path(path))[0]


def _load_tensors(module: nn.Module, prefix: str, f, path: Path) -> None:
    """Load the file's `prefix.*` tensors into `module` (built on the meta device: nothing
    allocated yet). Names, shapes and dtypes are checked from the file's header before any
    tensor is read, so `module` is allocated only once the file is known to fill it; then each
    tensor must hold finite numbers."""
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
    for key in keys:
        name = key[len(prefix) + 1 :]
        ref = expected[name]
        view = f.get_slice(key)
        shape, dtype = tuple(view.get_shape()), view.get_dtype()
        if shape != tuple(ref.shape):
            raise ModelFileError(
                f"{path.name}: {what} tensor {name} has shape {shape} but its "
                f"configuration needs {tuple(ref.shape)}. The file is damaged or was edited."
            )
        if dtype not in (_FLOAT_DTYPES if ref.is_floating_point() else _INT_DTYPES):
            raise ModelFileError(
                f"{path.name}: {what} tensor {name} is stored as {dtype}, which does not fit "
                "it. The file is damaged or was edited."
            )
    module.to_empty(device="cpu")
    state = {}
    for key in keys:
        name = key[len(prefix) + 1 :]
        t = f.get_tensor(key)
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ModelFileError(
                f"{path.name}: {what} tensor {name} holds NaN or infinite values, so the "
                "model cannot draw anything. Its training went wrong: use an earlier export "
                "of the run, or train again."
            )
        state[name] = t
    module.load_state_dict(state, strict=True)


def load_model(path: str | Path, *, with_discriminator: bool = True) -> LoadedModel:
    """Rebuild the networks from the file alone (float32, CPU, eval mode). Every metadata field
    is checked before anything is built, and the networks are allocated only once the file's
    tensors are known to fit them."""
    path = Path(path)
    meta, g_config, d_config = _read_header(path)
    try:
        with torch.device("meta"):
            generator = build_generator(g_config)
            discriminator = (
                build_discriminator(d_config)
                if d_config is not None and with_discriminator
                else None
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
    except MemoryError as exc:
        raise ModelFileError(
            f"{path.name}: its networks need more memory than this machine has free. Close "
            "other programs, or use a smaller model."
        ) from exc
    generator.eval()
    if discriminator is not None:
        discriminator.eval()
    return LoadedModel(generator, g_config, discriminator, d_config, meta, path)


def stored_dtype(path: str | Path) -> torch.dtype | None:
    """float16 when a model file stores its tensors in fp16 (as the default model does), so
    that a tool writing it again keeps that; None (fp32) otherwise."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        keys = list(f.keys())  # noqa: SIM118 (a safetensors file, not a dict)
        if keys and f.get_slice(keys[0]).get_dtype() == "F16":
            return torch.float16
    return None
