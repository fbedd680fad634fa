"""The receptive-field calculator against an independent measurement: gradients."""

import pytest
import torch

from models import (
    DiscriminatorConfig,
    MultiscaleDiscriminator,
    PatchDiscriminator,
    SharedTrunkDiscriminator,
)
from models.receptive_field import receptive_field_of, receptive_fields


def measured_window(branch_fn, size: int, i: int, j: int) -> tuple[int, int, int, int]:
    """Which input pixels can change output cell (i, j): nonzero gradient support."""
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = branch_fn(x)
    out[0, 0, i, j].backward()
    nz = x.grad[0, 0].abs() > 0
    rows = nz.any(1).nonzero()
    cols = nz.any(0).nonzero()
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def _linearised(module: torch.nn.Module) -> torch.nn.Module:
    """Positive weights and no norm/activation clipping, so every input in the field has a
    nonzero gradient (LeakyReLU never zeroes a gradient; norms are identities here)."""
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.abs() + 0.01)
    return module


@pytest.mark.parametrize("cell", [(0, 0), (3, 5), (13, 13)])
def test_patchgan_window_matches_gradient_support(cell):
    d = _linearised(
        PatchDiscriminator(DiscriminatorConfig(arch="patch", in_channels=1, ndf=2, norm="none"))
    )
    rf = receptive_fields(d, 128)[0]
    assert rf.output_size == (14, 14)

    def branch(x):
        return d.out(_seq(d.blocks, x))

    assert measured_window(branch, 128, *cell) == rf.window(*cell)


def _seq(blocks, x):
    for b in blocks:
        x = b(x)
    return x


def test_shared_trunk_windows_match_gradient_support():
    config = DiscriminatorConfig(
        arch="shared_trunk", in_channels=1, ndf=2, branches=3, resolution=128, norm="none"
    )
    d = _linearised(SharedTrunkDiscriminator(config))
    fields = receptive_fields(d, 128)
    for b, field in enumerate(fields):

        def branch(x, b=b):
            return d.branch_out[b](_seq(d.branch_blocks[b], _seq(d.trunk, x)))

        oh, ow = field.output_size
        for cell in {(0, 0), (oh - 1, ow - 1), (oh // 2, ow // 3)}:
            assert measured_window(branch, 128, *cell) == field.window(*cell)
    assert fields[-1].window(0, 0) == (0, 0, 128, 128)


def test_multiscale_fields_include_the_pooling():
    d = MultiscaleDiscriminator(
        DiscriminatorConfig(arch="multiscale", in_channels=4, ndf=2, n_layers=3, num_d=2)
    )
    f0, f1 = receptive_fields(d, 128)
    assert f0.size == 70 and f1.size > 2 * 70 - 5
    assert f1.jump == 2 * f0.jump


def test_unclipped_window_and_size_errors():
    d = PatchDiscriminator(DiscriminatorConfig(arch="patch", in_channels=1, ndf=2))
    rf = receptive_field_of(d.branch_layers()[0], 64)
    top, left, bottom, right = rf.window(0, 0, clip=False)
    assert bottom - top == 70 and right - left == 70 and top < 0
    with pytest.raises(ValueError, match="too small"):
        receptive_field_of(d.branch_layers()[0], 8)
