"""The user's folders as data sources: aligned, paired, photos, detection, splits, bad files."""

import contextlib
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from sketchpad.cli import main
from sketchpad.data import (
    SPLITS,
    AugmentConfig,
    DataWarning,
    LineParams,
    make_contact_sheet,
    open_source,
    parse_spec,
    split_of,
)
from sketchpad.errors import ConfigError, DataError


def line_drawing(size=(32, 32), seed=0):
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    for _ in range(3):
        draw.line(tuple(rng.integers(0, min(size), 4).tolist()), fill="black", width=2)
    return img


def photo(size=(40, 30), seed=0):
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, tuple(rng.integers(100, 200, 3).tolist()))
    box = (5, 5, size[0] - 8, size[1] - 6)
    ImageDraw.Draw(img).ellipse(box, fill=tuple(rng.integers(0, 80, 3).tolist()))
    return img


def make_paired(root, stems, extra_sketches=(), extra_images=()):
    (root / "sketches").mkdir(parents=True)
    (root / "images").mkdir()
    for i, stem in enumerate([*stems, *extra_sketches]):
        line_drawing(seed=i).save(root / "sketches" / f"{stem}.png")
    for i, stem in enumerate([*stems, *extra_images]):
        photo(seed=i).save(root / "images" / f"{stem}.jpg")
    return root


def make_aligned(root, n, subfolder=None):
    folder = root / subfolder if subfolder else root
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        pair = Image.new("RGB", (64, 32), "white")
        pair.paste(line_drawing(seed=i), (0, 0))  # A: lines
        pair.paste((220, 30, 30), (32, 0, 64, 32))  # B: red
        pair.save(folder / f"{i:03d}.png")
    return root


def make_photos(root, n):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        photo(seed=i).save(root / f"p{i:03d}.jpg")
    return root


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return fn(*args, **kwargs)


def check_item(item, r):
    assert item["sketch"].shape == (1, r, r) and item["sketch"].dtype == torch.float32
    assert item["image"].shape == (3, r, r) and item["image"].dtype == torch.float32
    assert item["sketch"].min() >= 0 and item["sketch"].max() <= 1
    assert item["image"].min() >= -1 and item["image"].max() <= 1
    assert isinstance(item["name"], str)


# --- each source ----------------------------------------------------------------------------


def test_paired_matches_stems_across_extensions_and_lists_the_unmatched(tmp_path):
    make_paired(tmp_path, ["a", "b", "c"], extra_sketches=["lonely"], extra_images=["orphan"])
    with pytest.warns(DataWarning, match="2 files skipped") as caught:
        ds = open_source(f"paired:{tmp_path}", resolution=16, split="all")
    assert "lonely.png" in str(caught[0].message) and "orphan.jpg" in str(caught[0].message)
    assert ds.kind == "paired" and not ds.detected and len(ds) == 3
    assert sum(ds.counts.values()) == 3
    assert {r for _, r in ds.skipped} == {
        "no matching file in images/",
        "no matching file in sketches/",
    }
    check_item(ds[0], 16)
    assert ds[0]["sketch"].sum() > 0 and ds[0]["name"] == "a"


def test_paired_without_any_match_is_an_error_naming_files(tmp_path):
    make_paired(tmp_path, [], extra_sketches=["x"], extra_images=["y"])
    with pytest.raises(DataError, match=r"unmatched: images/y\.jpg, sketches/x\.png"):
        open_source(f"paired:{tmp_path}", resolution=16)


def test_aligned_direction(tmp_path):
    make_aligned(tmp_path, 3)
    a_to_b = open_source(f"aligned:{tmp_path}", resolution=16, split="all")
    b_to_a = open_source(f"aligned:{tmp_path}", resolution=16, split="all", direction="BtoA")
    forward, backward = a_to_b[0], b_to_a[0]
    red = torch.tensor([220, 30, 30]) / 127.5 - 1
    assert torch.allclose(forward["image"][:, 8, 8], red, atol=0.01)  # B is the target
    assert forward["sketch"].max() > 0.5 and forward["sketch"].mean() < 0.4
    assert backward["image"].min() < 0 and backward["image"].mean() > 0.5  # lines on white
    assert backward["sketch"].mean() > 0.5  # red as a drawing: dense ink


def test_aligned_keeps_pix2pix_split_folders(tmp_path):
    make_aligned(tmp_path, 4, "train")
    make_aligned(tmp_path, 2, "val")
    ds = open_source(str(tmp_path), resolution=16, split="val")
    assert ds.kind == "aligned" and ds.detected
    assert ds.counts == {"train": 4, "val": 2, "test": 0}
    assert all(item.name.startswith("val/") for item in ds.items)


def test_photos_become_thin_dark_lines_on_white(tmp_path):
    make_photos(tmp_path, 3)
    ds = open_source(f"photos:{tmp_path}", resolution=32, split="all")
    assert ds.kind == "photos"
    sketch = ds[0]["sketch"]
    assert (sketch < 0.2).float().mean() > 0.8  # mostly white
    assert (sketch > 0.5).float().sum() > 10  # some ink
    soft = open_source(
        f"photos:{tmp_path}", resolution=32, split="all", line_params=LineParams(sigma=2.5)
    )
    assert not torch.equal(soft[0]["sketch"], sketch)  # the parameters are used


def test_line_params_parse_and_validate():
    assert LineParams.parse("sigma=1.5, tau=0.99,work_scale=1") == LineParams(
        sigma=1.5, tau=0.99, work_scale=1
    )
    assert LineParams.parse("") == LineParams()
    with pytest.raises(ConfigError, match="bogus"):
        LineParams.parse("bogus=1")
    with pytest.raises(ConfigError, match="sigma"):
        LineParams(sigma=-1)


# --- detection and spec errors --------------------------------------------------------------


def test_bare_path_is_detected_and_said(tmp_path):
    paired = make_paired(tmp_path / "p", ["a", "b"])
    aligned = make_aligned(tmp_path / "a", 3)
    photos = make_photos(tmp_path / "f", 3)
    for root, kind in ((paired, "paired"), (aligned, "aligned"), (photos, "photos")):
        spec = parse_spec(str(root))
        assert (spec.kind, spec.detected) == (kind, True)
        ds = quietly(open_source, str(root), resolution=16, split="all")
        assert ds.kind == kind and ds.detected
        assert ds.describe().startswith(f"Detected as {kind} (")


def test_bad_specs(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        open_source(str(tmp_path / "missing"), resolution=16)
    with pytest.raises(DataError, match="no such folder"):
        open_source(f"aligned:{tmp_path / 'missing'}", resolution=16)
    with pytest.raises(DataError, match="empty"):
        open_source(" ", resolution=16)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no readable pictures"):
        open_source(str(tmp_path / "empty"), resolution=16)
    make_paired(tmp_path / "p", ["a"])
    with pytest.raises(ConfigError, match="aligned data only"):
        open_source(f"paired:{tmp_path / 'p'}", resolution=16, direction="BtoA")
    with pytest.raises(ConfigError, match="split"):
        open_source(f"paired:{tmp_path / 'p'}", resolution=16, split="dev")


# --- splits ---------------------------------------------------------------------------------


def test_split_rule_is_disjoint_stable_and_roughly_90_5_5():
    names = [f"img_{i}" for i in range(2000)]
    splits = [split_of(n) for n in names]
    assert set(splits) == set(SPLITS)
    assert 0.86 < splits.count("train") / 2000 < 0.94
    assert splits == [split_of(n) for n in names]  # no state, no order dependence


def test_adding_files_moves_no_other_file(tmp_path):
    make_photos(tmp_path, 12)
    before = {i.name: i.split for i in open_source(str(tmp_path), resolution=16, split="all").items}
    for i in range(12, 20):
        photo(seed=i).save(tmp_path / f"p{i:03d}.jpg")
    after = quietly(open_source, str(tmp_path), resolution=16, split="all")
    assert {n: s for n, s in ((i.name, i.split) for i in after.items) if n in before} == before
    by_split = [{i.name for i in after.items if i.split == s} for s in SPLITS]
    assert sum(map(len, by_split)) == 20 == len(set().union(*by_split))  # disjoint


def test_an_empty_split_falls_back_with_a_warning(tmp_path):
    make_photos(tmp_path, 2)
    counts = quietly(open_source, str(tmp_path), resolution=16, split="all").counts
    empty = next(s for s in ("val", "test") if counts[s] == 0)
    with pytest.warns(DataWarning, match=f"the {empty} split is empty"):
        ds = open_source(str(tmp_path), resolution=16, split=empty)
    assert len(ds) > 0 and ds.split != empty
    assert "split is empty" in ds.describe()


# --- bad files ------------------------------------------------------------------------------


def test_bad_files_are_skipped_with_one_warning(tmp_path):
    make_photos(tmp_path, 3)
    for mode, fill in (("RGBA", (0, 0, 0, 0)), ("L", 90), ("P", 3), ("I;16", 40000)):
        Image.new(mode, (20, 16), fill).save(tmp_path / f"mode_{mode.replace(';', '')}.png")
    Image.new("CMYK", (20, 16), (0, 50, 50, 0)).save(tmp_path / "cmyk.jpg")
    (tmp_path / "readme.txt").write_text("hello")
    Image.new("RGB", (3, 3)).save(tmp_path / "tiny.png")
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "whole.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:5000])
    (tmp_path / "whole.png").unlink()
    (tmp_path / ".DS_Store").write_bytes(b"\0\1")  # clutter: ignored silently

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = open_source(f"photos:{tmp_path}", resolution=16, split="all")
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert len(messages) == 1 and "2 files skipped" in messages[0]
    assert "readme.txt" in messages[0] and "tiny.png" in messages[0]
    assert len(ds) == 3 + 5 + 1  # photos, odd modes, the truncated file (its header is fine)

    with pytest.warns(DataWarning, match="cut.png"):
        items = [ds[i] for i in range(len(ds))]  # one bad file never stops an epoch
    for item in items:
        check_item(item, 16)
    assert "cut.png" not in {item["name"] for item in items}
    assert any(name.endswith("cut.png") for name, _ in ds.skipped)
    assert ds[0]["name"] == items[0]["name"]  # replacements are deterministic


def open_within(seconds, fifos, fn, *args, **kwargs):
    """fn(*args, **kwargs) in a thread; a call still blocked after `seconds` (opening one of
    `fifos`, which waits for a writer) is released by writing to them, and the test fails."""
    result = {}

    def call():
        try:
            result["value"] = quietly(fn, *args, **kwargs)
        except Exception as exc:  # re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        for fifo in fifos:
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail(f"{fn.__name__} blocked on a named pipe")
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this OS")
def test_named_pipes_and_other_non_files_are_skipped_not_opened(tmp_path):
    photos = make_photos(tmp_path / "photos", 3)
    (photos / "deeper").mkdir()
    os.mkfifo(photos / "deeper" / "pipe.png")
    (photos / "link.jpg").symlink_to(photos / "p000.jpg")  # a link to a picture is fine
    (photos / "gone.jpg").symlink_to(photos / "nowhere.jpg")
    paired = make_paired(tmp_path / "paired", ["a", "b"])
    os.mkfifo(paired / "sketches" / "c.png")
    os.mkfifo(paired / "images" / "c.jpg")
    fifos = [photos / "deeper" / "pipe.png", paired / "sketches" / "c.png"]
    fifos.append(paired / "images" / "c.jpg")

    for spec in (f"photos:{photos}", str(photos)):  # listed, and sampled for detection
        ds = open_within(10, fifos, open_source, spec, resolution=16, split="all")
        assert ds.kind == "photos" and len(ds) == 4  # three photos and the link
        reasons = {Path(name).name: reason for name, reason in ds.skipped}
        assert set(reasons) == {"pipe.png", "gone.jpg"}
        assert reasons["pipe.png"].startswith("a named pipe (FIFO), not a regular file")
        assert "2 files skipped" in ds.describe()

    ds = open_within(10, fifos, open_source, f"paired:{paired}", resolution=16, split="all")
    assert len(ds) == 2
    assert sorted(Path(name).name for name, _ in ds.skipped) == ["c.jpg", "c.png"]
    assert all("named pipe" in reason for _, reason in ds.skipped)


def test_a_source_with_no_usable_pair_is_an_error(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "b.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match="no usable pictures"):
        quietly(open_source, f"photos:{tmp_path}", resolution=16)


def test_all_files_going_bad_at_load_time_is_an_error(tmp_path):
    make_photos(tmp_path, 2)
    ds = open_source(f"photos:{tmp_path}", resolution=16, split="all")
    for path in tmp_path.iterdir():
        path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match="none of the 2 pairs"):
        quietly(ds.__getitem__, 0)


# --- augmentation through the dataset, preview ----------------------------------------------


def test_dataset_augmentation_depends_on_seed_and_epoch_only(tmp_path):
    make_aligned(tmp_path, 3)
    spec = f"aligned:{tmp_path}"
    one = open_source(spec, resolution=16, split="all", augment=AugmentConfig(), seed=3)
    two = open_source(spec, resolution=16, split="all", augment=AugmentConfig(), seed=3)
    assert torch.equal(one[1]["sketch"], two[1]["sketch"])
    assert torch.equal(one[1]["image"], two[1]["image"])
    before = one[1]["sketch"]
    one.set_epoch(1)
    assert not torch.equal(one[1]["sketch"], before)
    one.set_epoch(0)
    assert torch.equal(one[1]["sketch"], before)


def test_contact_sheet(tmp_path):
    make_paired(tmp_path, ["a", "b", "c"])
    ds = open_source(f"paired:{tmp_path}", resolution=16, split="all", augment=AugmentConfig())
    sheet = make_contact_sheet(ds, count=5, seed=1)  # more than there are: all three
    assert sheet.mode == "RGB"
    assert sheet.width > 2 * 16 and sheet.height >= 16
    assert np.array_equal(np.asarray(sheet), np.asarray(make_contact_sheet(ds, 5, seed=1)))


def test_dataset_command_writes_a_preview(tmp_path, capsys):
    make_paired(tmp_path / "data", ["a", "b", "c", "d"], extra_images=["orphan"])
    sheet = tmp_path / "out" / "sheet.png"
    code = main(
        [
            "dataset",
            f"paired:{tmp_path / 'data'}",
            "--preview",
            str(sheet),
            "--count",
            "4",
            "--resolution",
            "16",
            "--split",
            "all",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert Image.open(sheet).size[0] > 32
    assert "pairs per split: train" in out and "orphan.jpg" in out


def make_photos_with_bad_files(root):
    """Three photos, a file that is no picture (skipped when listed) and a picture whose
    header is fine but whose pixels are cut off (skipped when loaded)."""
    make_photos(root, 3)
    (root / "readme.txt").write_text("hello")
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(root / "whole.png")
    (root / "cut.png").write_bytes((root / "whole.png").read_bytes()[:5000])
    (root / "whole.png").unlink()
    return root


def test_dataset_command_counts_and_lists_skipped_files_once(tmp_path, capsys):
    data = make_photos_with_bad_files(tmp_path / "data")
    sheet = tmp_path / "sheet.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        args = ["--split", "all", "--resolution", "16", "--preview", str(sheet)]
        code = main(["dataset", f"photos:{data}", *args])
    out, err = capsys.readouterr()
    assert code == 0 and sheet.is_file()
    assert "2 files skipped:" in out  # the one count: cut.png failed while the sheet was made
    assert "1 file skipped" not in out and "skipped 2" not in out
    assert out.count("readme.txt") == 1 and out.count("cut.png") == 1  # listed once, in full
    assert "convert it to PNG or JPEG" in out
    assert "skipped" not in err and not [w for w in caught if w.category is DataWarning]


def test_other_splits_of_a_source_share_one_record_and_warn_once(tmp_path):
    data = make_photos_with_bad_files(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train = open_source(f"photos:{data}", resolution=16, split="all")
        val = train.with_split("test", augment=None)  # as the trainer opens train and val
    messages = [str(w.message) for w in caught if "skipped" in str(w.message)]
    assert len(messages) == 1 and "1 file skipped" in messages[0]
    assert val.source is train.source and val.requested_split == "test"
    quietly(lambda: [train[i] for i in range(len(train))])  # cut.png fails to load
    assert train.skipped == val.skipped and len(val.skipped) == 2
    assert "2 files skipped" in val.describe()

    quiet = open_source(f"photos:{data}", resolution=16, split="all", warn=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        [quiet[i] for i in range(len(quiet))]  # no warning, only the record
    assert len(quiet.skipped) == 2


def test_dataset_command_reports_user_errors(tmp_path, capsys):
    assert main(["dataset", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
