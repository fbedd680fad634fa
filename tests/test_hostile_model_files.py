"""Model files made to hurt: metadata out of bounds or of the wrong type, tensors that do not
fit or hold NaN, headers that claim giant sizes, folders. Each is refused with a
`ModelFileError` that names what is wrong, before anything big is allocated, and the commands
say it in one line with exit status 2."""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import TINY_G, save_tiny_model
from safetensors import safe_open
from safetensors.torch import save_file
from torch.profiler import ProfilerActivity, profile

from sketchpad.checkpoint import load_model, read_metadata
from sketchpad.cli import main
from sketchpad.errors import ModelFileError
from sketchpad.inspect_model import describe_model


@pytest.fixture
def tiny(tmp_path) -> Path:
    return Path(save_tiny_model(tmp_path / "tiny.safetensors"))


def edited(
    src: Path,
    dst: Path,
    meta_edit: Callable[[dict], None] | None = None,
    tensor_edit: Callable[[dict], None] | None = None,
) -> Path:
    """A copy of the model file `src` with its metadata and/or tensors changed in place."""
    with safe_open(str(src), framework="pt") as f:
        header = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open)
    meta = json.loads(header["sketchpad"])
    if meta_edit:
        meta_edit(meta)
    if tensor_edit:
        tensor_edit(tensors)
    header["sketchpad"] = json.dumps(meta)
    save_file(tensors, str(dst), metadata=header)
    return dst


def allocated_bytes(fn: Callable[[], object]) -> int:
    """Bytes the CPU allocator handed out while `fn` ran (it may raise)."""
    with (
        profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof,
        contextlib.suppress(ModelFileError),
    ):
        fn()
    return sum(e.cpu_memory_usage for e in prof.events() if e.cpu_memory_usage > 0)


def _set(section: str | None, key: str, value) -> Callable[[dict], None]:
    def edit(meta: dict) -> None:
        (meta[section] if section else meta)[key] = value

    return edit


OUT_OF_BOUNDS = [
    ("generator", "resolution", 1048576),
    ("generator", "base_width", 100000),
    ("generator", "max_width", 100000),
    ("generator", "depth", 40),
    ("generator", "noise_channels", 10**9),
    ("discriminator", "ndf", 100000),
    ("discriminator", "resolution", 1048576),
    ("discriminator", "n_layers", 1000),
]


@pytest.mark.parametrize(("section", "key", "value"), OUT_OF_BOUNDS)
def test_fields_out_of_bounds_are_refused_naming_the_field(tiny, tmp_path, section, key, value):
    bad = edited(tiny, tmp_path / "bad.safetensors", _set(section, key, value))
    for read in (read_metadata, load_model, describe_model):
        with pytest.raises(ModelFileError, match=rf"bad\.safetensors: .*Config\.{key}"):
            read(bad)


WRONG_TYPES = [
    (None, "step", "6000", "step"),
    (None, "step", -1, "step"),
    (None, "step", True, "step"),
    (None, "name", 12, "name"),
    (None, "name", "x" * 5000, "name"),
    (None, "description", ["a", "list"], "description"),
    (None, "data", {"a": 1}, "data"),
    (None, "ema", "yes", "ema"),
    (None, "format_version", "1", "format_version"),
    (None, "format_version", 0, "format_version"),
    (None, "generator", [1, 2], "GeneratorConfig"),
    ("generator", "attention_levels", "2", "attention_levels"),
    ("generator", "dropout", "no", "dropout"),
]


@pytest.mark.parametrize(("section", "key", "value", "named"), WRONG_TYPES)
def test_fields_of_the_wrong_type_are_refused_naming_the_field(
    tiny, tmp_path, section, key, value, named
):
    bad = edited(tiny, tmp_path / "bad.safetensors", _set(section, key, value))
    for read in (read_metadata, load_model):
        with pytest.raises(ModelFileError, match=named):
            read(bad)


@pytest.mark.parametrize(("key", "value"), [("resolution", 64), ("in_channels", 5)])
def test_a_discriminator_that_does_not_match_the_generator_is_refused(tiny, tmp_path, key, value):
    bad = edited(tiny, tmp_path / "bad.safetensors", _set("discriminator", key, value))
    with pytest.raises(ModelFileError, match=rf"DiscriminatorConfig\.{key} is {value}"):
        read_metadata(bad)


def test_a_config_its_tensors_do_not_fill_is_refused_before_the_networks_are_allocated(
    tiny, tmp_path
):
    """Within every field's bounds, but ~60 MB of generator for a file of a few kB: the
    tensors' shapes are compared from the header, so the networks are never allocated."""
    big = {"base_width": 64, "max_width": 256, "depth": 5, "resolution": 128}

    def widen(meta: dict) -> None:
        meta["generator"].update(big)
        meta["discriminator"]["resolution"] = 128

    bad = edited(tiny, tmp_path / "wide.safetensors", widen)
    with pytest.raises(ModelFileError, match="has shape|do not fit"):
        load_model(bad)
    assert allocated_bytes(lambda: load_model(bad)) < 8_000_000


def test_a_misshapen_tensor_is_refused(tiny, tmp_path):
    def swap(tensors: dict) -> None:
        tensors["G.head.weight"] = torch.zeros(3, 500, 100)  # where (3, 9, 3, 3) belongs

    bad = edited(tiny, tmp_path / "fat.safetensors", tensor_edit=swap)
    with pytest.raises(ModelFileError, match=r"generator tensor head\.weight has shape"):
        load_model(bad)


def test_a_tensor_of_the_wrong_kind_is_refused(tiny, tmp_path):
    def to_int(tensors: dict) -> None:
        tensors["G.head.weight"] = tensors["G.head.weight"].to(torch.int32)

    bad = edited(tiny, tmp_path / "int.safetensors", tensor_edit=to_int)
    with pytest.raises(ModelFileError, match=r"head\.weight is stored as I32"):
        load_model(bad)


@pytest.mark.parametrize("length", [2**40, 10**9])
def test_a_header_claiming_a_giant_size_is_refused_before_reading(tmp_path, length):
    bad = tmp_path / "giant.safetensors"
    bad.write_bytes(struct.pack("<Q", length) + b'{"__metadata__": {}}')
    with pytest.raises(ModelFileError, match="giant.safetensors.*header claims"):
        read_metadata(bad)


@pytest.mark.parametrize(("prefix", "what"), [("G", "generator"), ("D", "discriminator")])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_weights_that_are_not_finite_are_refused(tiny, tmp_path, prefix, what, value):
    with safe_open(str(tiny), framework="pt") as f:
        key = sorted(k for k in f.keys() if k.startswith(f"{prefix}.") and "weight" in k)[-1]  # noqa: SIM118
    name = key[2:]

    def poison(tensors: dict) -> None:
        tensors[key] = tensors[key].clone()
        tensors[key].view(-1)[-1] = value

    bad = edited(tiny, tmp_path / "nan.safetensors", tensor_edit=poison)
    with pytest.raises(ModelFileError, match=rf"{what} tensor {name} holds NaN or infinite"):
        load_model(bad)
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        describe_model(bad)


def test_a_folder_given_as_a_model_says_it_is_a_folder(tiny, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    for read in (read_metadata, load_model, describe_model):
        with pytest.raises(ModelFileError, match="run is a folder, not a model file"):
            read(folder)
    (folder / "notes.safetensors").write_bytes(b"junk")  # not named as the one to choose
    with pytest.raises(ModelFileError, match="choose a .safetensors model file") as refused:
        load_model(folder)
    assert str(folder) in str(refused.value) and "notes" not in str(refused.value)
    tiny.rename(folder / "model.safetensors")
    with pytest.raises(
        ModelFileError, match=r"not a model file; a training run's model is .*model\.safetensors"
    ):
        load_model(folder)


def _one_error_line(capsys, command: str, *needles: str) -> None:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"sketchpad {command}: error: ")
    assert "Traceback" not in captured.err + captured.out
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture
def commands_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SKETCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SKETCHPAD_DATA_DIR", str(tmp_path / "data"))


def _hostile_files(tiny: Path, folder: Path) -> dict[str, tuple[Path, str]]:
    def poison(tensors: dict) -> None:
        tensors["G.head.weight"] = torch.full_like(tensors["G.head.weight"], float("nan"))

    return {
        "resolution": (
            edited(tiny, folder / "res.safetensors", _set("generator", "resolution", 1048576)),
            "GeneratorConfig.resolution",
        ),
        "widths": (
            edited(tiny, folder / "wide.safetensors", _set("generator", "max_width", 100000)),
            "GeneratorConfig.max_width",
        ),
        "nan": (edited(tiny, folder / "nan.safetensors", tensor_edit=poison), "head.weight"),
        "folder": (folder, "is a folder"),
    }


@pytest.mark.parametrize("case", ["resolution", "widths", "nan", "folder"])
def test_commands_on_hostile_files_say_one_line_and_exit_2(
    tiny, tmp_path, capsys, commands_env, case
):
    folder = tmp_path / "hostile"
    folder.mkdir()
    path, named = _hostile_files(tiny, folder)[case]
    sketch = tmp_path / "s.png"
    from PIL import Image

    Image.new("L", (40, 40), 255).save(sketch)
    out = str(tmp_path / "out")
    assert main(["generate", str(sketch), "--model", str(path), "--out", out]) == 2
    _one_error_line(capsys, "generate", named)
    assert main(["inspect", str(path)]) == 2
    _one_error_line(capsys, "inspect", named)
    assert main(["inspect", str(path), "--json"]) == 2
    _one_error_line(capsys, "inspect", named)
    assert main(["eval", "--model", str(path), "--data", f"paired:{tmp_path}"]) == 2
    _one_error_line(capsys, "eval", named)


def test_a_sane_model_still_loads_exactly(tiny):
    """The checks refuse nothing a trainer writes: the tiny model loads, bit for bit."""
    model = load_model(tiny)
    assert model.generator_config == TINY_G and model.discriminator is not None
    with safe_open(str(tiny), framework="pt") as f:
        for key, value in model.generator.state_dict().items():
            assert torch.equal(value, f.get_tensor(f"G.{key}"))
    assert all(p.device.type == "cpu" for p in model.generator.parameters())
