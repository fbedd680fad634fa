"""Model files: bit-exact round trip, and every bad file raises the project's own error."""

import json
import pickle
import struct

import pytest
import torch

from models import (
    DiscriminatorConfig,
    GeneratorConfig,
    build_discriminator,
    build_generator,
)
from sketchpad.checkpoint import load_model, read_metadata, save_model
from sketchpad.cli import main
from sketchpad.errors import ModelFileError

G_CFG = GeneratorConfig(
    resolution=32, base_width=4, max_width=8, depth=3, attention_levels=(1,), noise_channels=2
)
D_CFG = DiscriminatorConfig(arch="shared_trunk", ndf=4, branches=2, resolution=32, max_mult=2)


@pytest.fixture
def model_file(tmp_path):
    torch.manual_seed(0)
    g, d = build_generator(G_CFG), build_discriminator(D_CFG)
    for attn in g.attention.values():
        attn.gamma.data.fill_(0.25)
    path = save_model(tmp_path / "m.safetensors", g, G_CFG, d, D_CFG, step=7, description="t")
    return path, g, d


def test_round_trip_is_bit_exact(model_file):
    path, g, d = model_file
    m = load_model(path)
    assert m.generator_config == G_CFG and m.discriminator_config == D_CFG
    assert m.metadata["step"] == 7
    for a, b in ((g, m.generator), (d, m.discriminator)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    g.eval()
    s, z = torch.rand(1, 1, 32, 32), torch.randn(g.noise_shape(1))
    # The weights are bit-exact (above); the outputs may differ in the last bits, because the
    # CPU's convolution kernels can sum in another order for tensors at other addresses.
    torch.testing.assert_close(g(s, z), m.generator(s, z), atol=1e-5, rtol=1e-5)


def test_fp16_storage_is_smaller_and_close(tmp_path, model_file):
    path, g, _ = model_file
    small = save_model(tmp_path / "h.safetensors", g, G_CFG, storage_dtype=torch.float16)
    assert small.stat().st_size < path.stat().st_size
    m = load_model(small)
    assert m.discriminator is None
    for k, v in g.state_dict().items():
        if v.is_floating_point():
            assert torch.allclose(v, m.generator.state_dict()[k], atol=1e-2, rtol=1e-3)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "nope.safetensors")


def test_truncated_file(tmp_path, model_file):
    path, *_ = model_file
    data = path.read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 1):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(ModelFileError) as err:
            load_model(bad)
        assert bad.name in str(err.value)


def test_pickle_renamed(tmp_path, model_file):
    _, g, _ = model_file
    p = tmp_path / "evil.safetensors"
    p.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(ModelFileError, match="never unpickles"):
        load_model(p)
    t = tmp_path / "torch.safetensors"
    torch.save(g.state_dict(), t)
    with pytest.raises(ModelFileError, match="PyTorch checkpoint"):
        load_model(t)


def _write_safetensors(path, tensors: dict, metadata: dict | None) -> None:
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata=metadata)


def test_other_format_and_future_version(tmp_path):
    plain = tmp_path / "plain.safetensors"
    _write_safetensors(plain, {"w": torch.zeros(2)}, None)
    with pytest.raises(ModelFileError, match="not a Sketchpad model"):
        load_model(plain)
    future = tmp_path / "future.safetensors"
    meta = {"format": "sketchpad-model", "format_version": 99, "generator": {}}
    _write_safetensors(future, {"w": torch.zeros(2)}, {"sketchpad": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="Update Sketchpad"):
        load_model(future)


def test_tensors_that_do_not_fit_the_config(tmp_path, model_file):
    path, g, _ = model_file
    meta = read_metadata(path)
    meta["generator"]["base_width"] = 8  # claims a wider network than the tensors hold
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    bad = tmp_path / "wider.safetensors"
    _write_safetensors(bad, tensors, {"sketchpad": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="has shape"):
        load_model(bad)
    del tensors["G.head.weight"]
    bad2 = tmp_path / "missing.safetensors"
    _write_safetensors(bad2, tensors, {"sketchpad": json.dumps(read_metadata(path))})
    with pytest.raises(ModelFileError, match="missing: head.weight"):
        load_model(bad2)
    meta["generator"]["norm"] = "fancy"
    bad3 = tmp_path / "badcfg.safetensors"
    _write_safetensors(bad3, tensors, {"sketchpad": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="norm"):
        load_model(bad3)


def test_corrupt_header_json(tmp_path):
    body = json.dumps({"__metadata__": {"sketchpad": "{not json"}}).encode()
    p = tmp_path / "j.safetensors"
    p.write_bytes(struct.pack("<Q", len(body)) + body)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(p)


def test_inspect_command(model_file, capsys):
    path, *_ = model_file
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "70 px patches" in text and "global" in text and "level 1" in text
    assert main(["inspect", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    branches = info["discriminator"]["branches"]
    assert branches[0]["receptive_field"] == 70 and branches[-1]["global"]
    assert info["generator"]["attention"][0]["features"] == "16×16"


def test_inspect_bad_file_exits_2(tmp_path, capsys):
    p = tmp_path / "x.safetensors"
    p.write_bytes(b"garbage")
    assert main(["inspect", str(p)]) == 2
    assert "x.safetensors" in capsys.readouterr().err
