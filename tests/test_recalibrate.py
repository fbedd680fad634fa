"""BatchNorm recalibration: the running statistics become the mean over the batches given,
the weights stay, and `sketchpad recalibrate` writes a model that loads and says so."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sketchpad.checkpoint import load_model
from sketchpad.cli import main
from sketchpad.train.recalibrate import batchnorm_layers, recalibrate

pytestmark = pytest.mark.usefixtures("isolated_user_dirs")


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(2)

    def forward(self, sketch, noise=None, hints=None):
        return self.bn(sketch)


def test_statistics_become_the_mean_over_all_batches():
    net = Tiny()
    net.bn.running_mean.fill_(50.0)  # as if its last batches were far off
    batches = [torch.full((4, 2, 3, 3), float(v)) + torch.randn(4, 2, 3, 3) for v in (1, 3, 8)]
    assert recalibrate(net, lambda i: (batches[i], None, None), 3) == 1
    expected = torch.stack([b.mean((0, 2, 3)) for b in batches]).mean(0)
    assert torch.allclose(net.bn.running_mean, expected, atol=1e-5)
    assert net.bn.momentum == 0.1 and not net.training  # left as it was, ready to paint


def test_the_command_rewrites_statistics_only(tmp_path, data, hinted_model, capsys):
    out = tmp_path / "recalibrated.safetensors"
    args = ["recalibrate", "--model", hinted_model, "--out", str(out), "--data", data]
    assert main([*args, "--batches", "3", "--batch", "2"]) == 0
    assert "recalibrated" in capsys.readouterr().out
    before, after = load_model(hinted_model), load_model(out)
    assert after.metadata["recalibrated"]["batches"] == 3 and after.takes_hints
    old, new = before.generator.state_dict(), after.generator.state_dict()
    stats = {n for n, _ in after.generator.named_buffers() if "running" in n}
    assert stats and any(not torch.equal(old[n], new[n]) for n in stats)
    for name, tensor in new.items():
        if name not in stats and "num_batches_tracked" not in name:
            assert torch.equal(tensor, old[name]), name
    assert batchnorm_layers(after.generator)
    half = tmp_path / "half.safetensors"
    assert main([*args, "--batches", "1", "--batch", "2", "--half", "--out", str(half)]) == 0
    assert half.stat().st_size < 0.6 * out.stat().st_size  # fp16 storage
    assert main(["recalibrate", "--model", hinted_model, "--out", hinted_model]) == 2
    assert "another file" in capsys.readouterr().err
