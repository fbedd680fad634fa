"""Shapes, gradients and the exact properties the papers define, on tiny configs."""

import pytest
import torch

from models import (
    ConditionalSelfAttention,
    DiscriminatorConfig,
    GeneratorConfig,
    InvalidConfig,
    LossConfig,
    MaskedResidualUnit,
    MRUGenerator,
    MultiscaleDiscriminator,
    PatchDiscriminator,
    SharedTrunkDiscriminator,
    UNetGenerator,
    UpMRU,
    build_discriminator,
    build_generator,
    receptive_fields,
)


def tiny_g(**kw) -> GeneratorConfig:
    base = dict(resolution=32, base_width=4, max_width=16, depth=3, attention_levels=(1,))
    base.update(kw)
    return GeneratorConfig(**base)


def unet_config(
    in_channels: int, out_channels: int, depth: int, base_width: int = 64
) -> GeneratorConfig:
    """pix2pix's unet_<2^depth>: resolution 2^depth, `depth` num_downs, `base_width` ngf."""
    return GeneratorConfig(
        arch="unet",
        in_channels=in_channels,
        out_channels=out_channels,
        resolution=2**depth,
        depth=depth,
        base_width=base_width,
        attention_levels=(),
    )


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def assert_all_grads(module: torch.nn.Module) -> None:
    missing = [n for n, p in module.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, f"no gradient reached {missing}"


@pytest.mark.parametrize("stride", [1, 2])
def test_mru_matches_the_paper_formula(stride):
    torch.manual_seed(0)
    unit = MaskedResidualUnit(3, 5, 1, stride=stride)
    x, s = torch.randn(2, 3, 8, 8), torch.rand(2, 1, 8, 8)
    y = unit(x, s)
    xs = torch.cat([x, s], 1)
    if stride == 1:
        w, b = unit.mask_gate.weight, unit.mask_gate.bias
        mn = torch.sigmoid(torch.nn.functional.conv2d(xs, w, b, padding=1))
        m, n = mn[:, :3], mn[:, 3:]
    else:
        m = torch.sigmoid(unit.mask(xs))
        n = torch.sigmoid(unit.gate(xs))
    s_out = torch.nn.functional.adaptive_avg_pool2d(s, y.shape[-2:])
    z = unit.act(unit.norm(unit.features(torch.cat([m * x, s], 1))))
    expected = (1 - n) * unit.skip(x) + n * z
    assert y.shape == (2, 5, 8 // stride, 8 // stride)
    assert torch.allclose(y, expected, atol=1e-6)
    assert s_out.shape[-2:] == y.shape[-2:]


def test_mru_identity_skip_when_shape_is_kept():
    unit = MaskedResidualUnit(4, 4, 1)
    assert isinstance(unit.skip, torch.nn.Identity)
    assert isinstance(MaskedResidualUnit(4, 8, 1).skip, torch.nn.Conv2d)


def test_up_mru_doubles_resolution():
    up = UpMRU(8, 4, 4, 1, norm="instance")
    y = up(torch.randn(1, 8, 4, 4), torch.randn(1, 4, 8, 8), torch.rand(1, 1, 16, 16))
    assert y.shape == (1, 4, 8, 8)


@pytest.mark.parametrize("resolution", [16, 32, 64])
@pytest.mark.parametrize("norm", ["none", "batch", "instance"])
def test_mru_generator_shapes_and_range(resolution, norm):
    g = MRUGenerator(tiny_g(resolution=resolution, norm=norm))
    out = g(torch.rand(2, 1, resolution, resolution))
    assert out.shape == (2, 3, resolution, resolution)
    assert out.abs().max() <= 1.0


def test_generator_gradients_reach_every_parameter():
    torch.manual_seed(0)
    g = MRUGenerator(tiny_g(noise_channels=2))
    for attn in g.attention.values():
        attn.gamma.data.fill_(0.5)  # with γ = 0 the f, g, h convs get no gradient (by design)
    g(torch.rand(2, 1, 32, 32)).square().mean().backward()
    assert_all_grads(g)


def test_gamma_gets_gradient_at_zero():
    g = MRUGenerator(tiny_g())
    g(torch.rand(2, 1, 32, 32)).square().mean().backward()
    assert all(a.gamma.grad is not None and a.gamma.grad != 0 for a in g.attention.values())


def test_noise_changes_output_only_when_enabled():
    g = MRUGenerator(tiny_g(noise_channels=3)).eval()
    s = torch.rand(1, 1, 32, 32)
    a = g(s, torch.zeros(g.noise_shape(1)))
    b = g(s, torch.ones(g.noise_shape(1)))
    assert not torch.allclose(a, b)
    assert torch.equal(a, g(s, torch.zeros(g.noise_shape(1))))


def test_csam_is_identity_with_gamma_zero():
    torch.manual_seed(0)
    attn = ConditionalSelfAttention(16, 1)
    x, s = torch.randn(2, 16, 8, 8), torch.rand(2, 1, 8, 8)
    assert attn.gamma.item() == 0.0
    assert torch.equal(attn(x, s), x)


@pytest.mark.parametrize("output_conv", [True, False])
def test_csam_matches_sagan_math(output_conv):
    torch.manual_seed(0)
    attn = ConditionalSelfAttention(16, 1, reduction=4, output_conv=output_conv)
    attn.gamma.data.fill_(0.7)
    x, s = torch.randn(2, 16, 6, 6), torch.rand(2, 1, 6, 6)
    xs = torch.cat([x, s], 1)
    f, g, h = (c(xs).flatten(2) for c in (attn.f, attn.g, attn.h))  # (B, C', N)
    beta = torch.softmax(g.transpose(1, 2) @ f, dim=-1)  # (B, N_query, N_key)
    o = (h @ beta.transpose(1, 2)).reshape(2, -1, 6, 6)
    expected = x + 0.7 * attn.v(o)
    assert torch.allclose(attn(x, s), expected, atol=1e-5)


def test_csam_probe_rows_equal_full_softmax():
    torch.manual_seed(0)
    attn = ConditionalSelfAttention(16, 1, reduction=8)
    attn.gamma.data.fill_(1.0)
    x, s = torch.randn(1, 16, 5, 7), torch.rand(1, 1, 5, 7)
    full = attn.attention_matrix(x, s)  # (1, 35, 35)
    probe = torch.tensor([0, 13, 34])
    y, weights = attn(x, s, probe=probe)
    assert torch.allclose(y, attn(x, s))
    assert weights.shape == (1, 3, 5, 7)
    assert torch.allclose(weights.flatten(2), full[:, probe], atol=1e-6)
    assert torch.allclose(weights.flatten(2).sum(-1), torch.ones(1, 3))


def test_csam_sees_the_sketch():
    torch.manual_seed(0)
    attn = ConditionalSelfAttention(8, 1)
    attn.gamma.data.fill_(1.0)
    x = torch.randn(1, 8, 6, 6)
    assert not torch.allclose(attn(x, torch.zeros(1, 1, 6, 6)), attn(x, torch.ones(1, 1, 6, 6)))


def test_generator_probe_weights_per_level():
    g = MRUGenerator(tiny_g(attention_levels=(0, 2)))
    img, weights = g.forward_with_attention(torch.rand(1, 1, 32, 32), probe=(0.5, 0.25))
    assert set(weights) == {0, 2}
    assert weights[0].shape == (1, 32, 32) and weights[2].shape == (1, 8, 8)
    for w in weights.values():
        assert torch.allclose(w.sum(dim=(-2, -1)), torch.ones(1))
    assert torch.allclose(img, g(torch.rand(1, 1, 32, 32)) * 0 + img)


def test_unet_layouts_match_pix2pix():
    # pix2pix prints "Total number of parameters : 54.414 M" for unet_256 (3 -> 3, ngf 64)
    unet_256 = UNetGenerator(unet_config(3, 3, 8, 64))
    assert round(n_params(unet_256) / 1e6, 3) == 54.414
    assert n_params(UNetGenerator(unet_config(3, 3, 7, 64))) == n_params(unet_256) - (
        512 * 512 * 16 + 1024 * 512 * 16 + 4 * 512  # one fewer 8·ngf block: convs and norms
    )
    u = UNetGenerator(unet_config(1, 3, 5, base_width=4))
    assert u(torch.rand(2, 1, 32, 32)).shape == (2, 3, 32, 32)
    assert (
        build_generator(
            GeneratorConfig(arch="unet", resolution=32, depth=5, base_width=4, attention_levels=())
        ).config.depth
        == 5
    )


def test_pix2pix_patchgan_reference_numbers():
    d = PatchDiscriminator(DiscriminatorConfig(arch="patch", in_channels=6))
    assert n_params(d) == 2_768_705
    out = d(torch.zeros(1, 3, 256, 256), torch.zeros(1, 3, 256, 256))
    assert isinstance(out, list) and out[0].shape == (1, 1, 30, 30)
    (rf,) = receptive_fields(d, 256)
    assert rf.size == 70 and rf.output_size == (30, 30)
    assert rf.per_layer == (70, 34, 16, 7, 4)


def test_patchgan_has_no_bias_before_batchnorm():
    d = PatchDiscriminator(DiscriminatorConfig(arch="patch", in_channels=4, ndf=8))
    for block in d.blocks[1:]:
        assert block[0].bias is None
    instance = DiscriminatorConfig(arch="patch", in_channels=4, ndf=8, norm="instance")
    assert PatchDiscriminator(instance).blocks[1][0].bias is not None


def test_multiscale_downsamples_between_scales():
    d = MultiscaleDiscriminator(
        DiscriminatorConfig(arch="multiscale", in_channels=4, ndf=4, n_layers=2, num_d=3)
    )
    pool = d.downsample
    assert (pool.kernel_size, pool.stride, pool.padding, pool.count_include_pad) == (3, 2, 1, False)
    s, x = torch.rand(1, 1, 64, 64), torch.randn(1, 3, 64, 64)
    logits, feats = d(s, x, features=True)
    assert [m.shape[-1] for m in logits] == [14, 6, 2]
    assert len(feats) == 3 and all(len(f) == 3 for f in feats)
    # scale 1 sees the pooled input: same as running its PatchGAN on the pooled pair
    pooled = d.downsample(torch.cat([s, x], 1))
    assert torch.allclose(logits[1], d.scales[1](pooled[:, :1], pooled[:, 1:])[0])


@pytest.mark.parametrize(("branches", "resolution"), [(2, 64), (3, 128), (4, 256), (2, 32)])
def test_shared_trunk_branches_grow_and_the_last_is_global(branches, resolution):
    d = SharedTrunkDiscriminator(
        DiscriminatorConfig(
            arch="shared_trunk",
            in_channels=4,
            ndf=4,
            branches=branches,
            resolution=resolution,
            max_mult=4,
        )
    )
    s, x = torch.rand(1, 1, resolution, resolution), torch.randn(1, 3, resolution, resolution)
    logits, feats = d(s, x, features=True)
    fields = receptive_fields(d, resolution)
    assert len(logits) == len(fields) == branches
    for m, f in zip(logits, fields, strict=True):
        assert tuple(m.shape[-2:]) == f.output_size
    sizes = [f.size for f in fields[:-1]]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    assert fields[0].size == 70
    assert logits[-1].shape[-2:] == (1, 1) and fields[-1].is_global
    assert d.branch_names(resolution)[-1] == "global"
    # the first layers are shared: every branch's features start with the same tensors
    assert all(f[0] is feats[0][0] for f in feats)


def test_shared_trunk_rejects_impossible_resolution():
    with pytest.raises(ValueError, match="resolution"):
        SharedTrunkDiscriminator(
            DiscriminatorConfig(
                arch="shared_trunk", in_channels=4, ndf=4, branches=4, resolution=48
            )
        )


def test_discriminator_gradients_reach_every_parameter():
    for cfg in (
        DiscriminatorConfig(arch="patch", ndf=4, resolution=64),
        DiscriminatorConfig(arch="multiscale", ndf=4, n_layers=2, num_d=2, resolution=64),
        DiscriminatorConfig(arch="shared_trunk", ndf=4, branches=2, resolution=64, spectral=True),
    ):
        d = build_discriminator(cfg)
        logits = d(torch.rand(2, 1, 64, 64), torch.randn(2, 3, 64, 64))
        sum(m.square().mean() for m in logits).backward()
        assert_all_grads(d)


def test_configs_name_the_wrong_field():
    cases = [
        (dict(resolution=100, depth=3), "resolution"),
        (dict(base_width=0), "base_width"),
        (dict(norm="layer"), "norm"),
        (dict(attention_levels=(9,)), "attention_levels"),
        (dict(arch="vae"), "arch"),
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidConfig) as err:
            GeneratorConfig(**kwargs)
        assert err.value.field == field and field in str(err.value)
    with pytest.raises(InvalidConfig, match="objective"):
        LossConfig(objective="wasserstein")
    with pytest.raises(InvalidConfig, match="branches"):
        DiscriminatorConfig(branches=5)
    with pytest.raises(InvalidConfig, match="ndf"):
        DiscriminatorConfig(ndf=0)


def test_csam_never_builds_the_n_by_n_matrix():
    from torch.profiler import profile

    attn = ConditionalSelfAttention(16, 1).eval()
    attn.gamma.data.fill_(1.0)
    x, s = torch.randn(1, 16, 32, 32), torch.rand(1, 1, 32, 32)
    with torch.inference_mode(), profile() as prof:
        attn(x, s)
    names = {e.name for e in prof.events()}
    assert "aten::_softmax" not in names and "aten::bmm" not in names, names
    assert any("flash" in n or "efficient" in n for n in names), names
