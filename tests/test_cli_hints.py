"""`sketchpad generate` with colour hints, seeds and variations; `.ora` sketches; hint files
that are wrong; `inspect` naming a model's inputs; `dataset --preview --hints`."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from sketchpad.cli import main
from sketchpad.data.hints import hint_input
from sketchpad.data.preview import GAP, sketch_with_hints
from sketchpad.ora import write_ora
from sketchpad.sketch_files import MAX_HINT_PIXELS, load_hints_picture
from tests.train_helpers import make_paired

pytestmark = pytest.mark.usefixtures("isolated_user_dirs")


def circle_sketch(size: int = 64) -> Image.Image:
    im = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(im).ellipse((10, 10, size - 14, size - 14), outline="black", width=2)
    return im


def red_dab(size: int = 64) -> Image.Image:
    """Transparent, with one red dab inside the circle."""
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((24, 24, 38, 38), fill=(230, 20, 20, 255))
    return im


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    paths = {"sketch": tmp_path / "circle.png", "hints": tmp_path / "hints.png"}
    circle_sketch().save(paths["sketch"])
    red_dab().save(paths["hints"])
    return paths


def generate(*args: str) -> int:
    return main(["generate", *map(str, args)])


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_hints_change_the_picture_and_an_ora_carries_its_own(tmp_path, hinted_model, files, capsys):
    plain, hinted, from_ora = (tmp_path / f"{n}.png" for n in ("plain", "hinted", "ora"))
    assert generate(files["sketch"], "--model", hinted_model, "--out", plain) == 0
    assert (
        generate(
            files["sketch"], "--model", hinted_model, "--out", hinted, "--hints", files["hints"]
        )
        == 0
    )
    assert np.abs(pixels(plain) - pixels(hinted)).max() > 0
    ora = tmp_path / "circle.ora"
    write_ora(ora, np.asarray(circle_sketch()), np.asarray(red_dab()))
    assert generate(ora, "--model", hinted_model, "--out", from_ora) == 0
    assert np.array_equal(pixels(from_ora), pixels(hinted))  # same ink, same hints
    assert capsys.readouterr().err == ""
    # --hints takes the place of the file's own layer: a transparent one gives the plain picture
    empty = tmp_path / "empty.png"
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(empty)
    out = tmp_path / "ora_no_hints.png"
    assert generate(ora, "--model", hinted_model, "--out", out, "--hints", empty) == 0
    assert np.array_equal(pixels(out), pixels(plain))


def test_a_hints_picture_of_another_shape_is_resized_and_said(
    tmp_path, hinted_model, files, capsys
):
    big = tmp_path / "big.png"
    red_dab(64).resize((256, 256), Image.Resampling.NEAREST).save(big)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert generate(files["sketch"], "--model", hinted_model, "--out", a, "--hints", big) == 0
    assert (
        generate(files["sketch"], "--model", hinted_model, "--out", b, "--hints", files["hints"])
        == 0
    )
    assert np.abs(pixels(a) - pixels(b)).max() <= 2  # any size: resized to the model's
    assert capsys.readouterr().err == ""
    wide = tmp_path / "wide.png"
    Image.new("RGBA", (128, 64), (0, 0, 0, 0)).save(wide)
    assert generate(files["sketch"], "--model", hinted_model, "--out", a, "--hints", wide) == 0
    err = capsys.readouterr().err
    assert "128×64" in err and "64×64" in err and "may not land" in err


def test_seed_fixes_the_noise_and_variations_write_one_file_per_seed(
    tmp_path, hinted_model, files, capsys
):
    runs = [tmp_path / f"r{i}.png" for i in range(3)]
    for path, seed in zip(runs, (3, 3, 4), strict=True):
        assert (
            generate(
                files["sketch"],
                "--model",
                hinted_model,
                "--out",
                path,
                "--seed",
                seed,
                "--device",
                "cpu",
                "--precision",
                "fp32",
            )
            == 0
        )
    assert np.array_equal(pixels(runs[0]), pixels(runs[1]))
    assert not np.array_equal(pixels(runs[0]), pixels(runs[2]))
    out = tmp_path / "variations"
    code = generate(
        files["sketch"],
        "--model",
        hinted_model,
        "--out",
        out,
        "--variations",
        3,
        "--seed",
        3,
        "--device",
        "cpu",
        "--precision",
        "fp32",
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["circle-1.png", "circle-2.png", "circle-3.png"]
    assert np.array_equal(pixels(out / "circle-1.png"), pixels(runs[0]))  # seed 3
    assert np.array_equal(pixels(out / "circle-2.png"), pixels(runs[2]))  # seed 4
    assert "3 variations each, seeds 3-5" in capsys.readouterr().out
    single = tmp_path / "one.png"
    assert (
        generate(files["sketch"], "--model", hinted_model, "--out", single, "--variations", 2) == 0
    )
    assert (tmp_path / "one-1.png").is_file() and (tmp_path / "one-2.png").is_file()


def test_a_model_without_noise_or_hints_says_what_it_cannot_do(
    tmp_path, plain_model, files, capsys
):
    out = tmp_path / "out"
    assert generate(files["sketch"], "--model", plain_model, "--out", out, "--variations", 3) == 2
    err = capsys.readouterr().err
    assert "takes no noise" in err and "identical" in err and "Traceback" not in err
    assert not out.exists()  # nothing written
    assert (
        generate(files["sketch"], "--model", plain_model, "--out", out, "--hints", files["hints"])
        == 0
    )
    captured = capsys.readouterr()
    assert "has no colour-hint inputs" in captured.err and "ignored" in captured.err
    assert (out / "circle.png").is_file() and "generated 1 of 1" in captured.out
    ora = tmp_path / "with_hints.ora"
    write_ora(ora, np.asarray(circle_sketch()), np.asarray(red_dab()))
    assert generate(ora, "--model", plain_model, "--out", out) == 0
    assert "the hint layer of" in capsys.readouterr().err


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height RGBA pixels (and holds none)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("huge", "megapixels"),
        ("text", "not a picture"),
        ("opaque", "no transparency"),
        ("tiny", "only 4×4"),
        ("missing", "no such file"),
        ("folder", "is a folder"),
        ("truncated", "damaged"),
    ],
)
def test_absurd_hint_files_get_clear_errors(
    tmp_path, hinted_model, files, capsys, content, expected
):
    bad = tmp_path / "bad.png"
    if content == "huge":
        bad.write_bytes(png_header(10_000, 10_000))
        assert MAX_HINT_PIXELS < 10_000 * 10_000
    elif content == "text":
        bad.write_text("these are not the hints you are looking for")
    elif content == "opaque":
        Image.new("RGB", (64, 64), "red").save(bad)
    elif content == "tiny":
        Image.new("RGBA", (4, 4)).save(bad)
    elif content == "folder":
        bad.mkdir()
    elif content == "truncated":
        bad.write_bytes(files["hints"].read_bytes()[:60])
    out = tmp_path / "out"
    assert generate(files["sketch"], "--model", hinted_model, "--out", out, "--hints", bad) == 2
    err = capsys.readouterr().err
    assert expected in err and "bad.png" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()  # refused before anything was generated


def test_hints_picture_reads_transparency_as_no_hint(files):
    rgba = load_hints_picture(files["hints"])
    assert rgba.shape == (64, 64, 4) and rgba.dtype == np.uint8
    assert rgba[31, 31].tolist() == [230, 20, 20, 255] and rgba[0, 0, 3] == 0


def test_bad_options_are_refused(tmp_path, hinted_model, files, capsys):
    out = tmp_path / "o"
    for extra, why in (
        (["--variations", "0"], "--variations must be"),
        (["--variations", "1000"], "--variations must be"),
        (["--seed", "-1"], "--seed must be"),
    ):
        assert generate(files["sketch"], "--model", hinted_model, "--out", out, *extra) == 2
        assert why in capsys.readouterr().err
    second = tmp_path / "second.png"
    circle_sketch().save(second)
    assert generate(files["sketch"], second, "--model", hinted_model, "--out", out / "x.png") == 2
    assert "give a folder" in capsys.readouterr().err


def test_inspect_lists_the_inputs(hinted_model, plain_model, capsys):
    assert main(["inspect", hinted_model]) == 0
    assert "inputs: ink; hint colour + mask; noise" in capsys.readouterr().out
    assert main(["inspect", plain_model]) == 0
    text = capsys.readouterr().out
    assert "inputs: ink\n" in text and "colour-hint" not in text


def test_dataset_preview_paints_the_hints_over_the_sketches(tmp_path, capsys):
    data = make_paired(tmp_path / "pairs", count=6)
    sheets = {}
    for hints in (False, True):
        sheet = tmp_path / f"sheet_{hints}.png"
        argv = ["dataset", f"paired:{data}", "--preview", str(sheet), "--resolution", "32"]
        argv += ["--split", "all", "--count", "6", "--no-augment"]
        assert main([*argv, "--hints"] if hints else argv) == 0
        sheets[hints] = np.asarray(Image.open(sheet).convert("RGB"), dtype=np.int16)
    assert "colour hints over the sketches" in capsys.readouterr().out
    plain, hinted = sheets[False], sheets[True]
    assert plain.shape == hinted.shape
    changed = np.abs(plain - hinted).max(axis=2) > 0
    assert changed.any()
    targets = np.zeros_like(changed)  # the right half of every cell: the targets
    r, cell_w = 32, 2 * 32 + GAP
    for x in range(GAP, plain.shape[1], cell_w + GAP):
        targets[:, x + r + GAP : x + cell_w] = True
    # the hints go over the sketches; a target changes only where its paper is coloured, one
    # colour per cell (training's coloured paper, `--aug-hint-background`)
    for x in range(GAP, plain.shape[1], cell_w + GAP):
        for y in range(GAP, plain.shape[0], r + GAP):
            cell = (slice(y, y + r), slice(x + r + GAP, x + cell_w))
            moved = changed[cell]
            if moved.any():
                paper = (plain[cell] == 255).all(axis=2)
                tinted = hinted[cell][moved & paper]
                assert len(tinted) and (tinted.max(axis=0) - tinted.min(axis=0)).max() <= 2
                assert not (moved & ~paper & (plain[cell] < 40).all(axis=2)).any()  # lines stay
    assert "--hints" in _help("dataset") and "colour hints" in _help("dataset")


def test_sketch_with_hints_paints_the_dabs_in_their_colours():
    sketch = torch.zeros(1, 8, 8)
    sketch[0, 0, :] = 1.0  # a line along the top
    colour, mask = torch.zeros(3, 8, 8), torch.zeros(1, 8, 8)
    mask[0, 4:6, 4:6] = 1.0
    colour[:, 4:6, 4:6] = torch.tensor([1.0, -1.0, -1.0])[:, None, None]  # red
    rgb = sketch_with_hints(sketch, hint_input(colour, mask))
    assert rgb[5, 5].tolist() == [255, 0, 0] and rgb[0, 3].tolist() == [0, 0, 0]
    assert rgb[2, 2].tolist() == [255, 255, 255]
    no_dab = torch.zeros(4, 8, 8)
    assert np.array_equal(sketch_with_hints(sketch, None), sketch_with_hints(sketch, no_dab))


def _help(command: str) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
        main([command, "--help"])
    return buffer.getvalue()
