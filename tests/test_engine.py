"""The inference engine on tiny models: images, verdicts, attention, seeds, devices, fast paths."""

import numpy as np
import pytest
import torch
from conftest import tiny_networks

from models import (
    DiscriminatorConfig,
    GeneratorConfig,
    build_discriminator,
    build_generator,
    receptive_fields,
)
from sketchpad.checkpoint import LoadedModel
from sketchpad.engine import Engine, Request

R = 32
G_CFG = GeneratorConfig(
    resolution=R, base_width=4, max_width=8, depth=3, attention_levels=(1, 2), noise_channels=2
)
D_CFG = DiscriminatorConfig(arch="shared_trunk", ndf=4, branches=2, resolution=R, max_mult=2)


def tiny_model(with_d: bool = True, g_cfg: GeneratorConfig = G_CFG) -> LoadedModel:
    g, d = tiny_networks(g_cfg, D_CFG if with_d else None, attention=0.5)
    return LoadedModel(
        g.eval(), g_cfg, d.eval() if d else None, D_CFG if with_d else None, {"name": "tiny"}
    )


def sketch() -> torch.Tensor:
    s = torch.zeros(1, R, R)
    s[0, 8:24, 15:17] = 1.0  # a vertical line
    s[0, 15:17, 8:24] = 1.0  # and a horizontal one
    return s


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def test_run_gives_an_image_and_timings(model):
    engine = Engine(model, device="cpu")
    result = engine.run(Request(7, sketch(), seed=1))
    assert result.request_id == 7
    assert result.image.dtype == np.uint8 and result.image.shape == (R, R, 3)
    assert result.verdicts is None and result.attention is None
    assert (
        result.timings["generator"] > 0 and result.timings["total"] >= result.timings["generator"]
    )
    assert "CPU" in engine.describe()


def test_fast_path_feeds_every_convolution_channels_last(model):
    """A 1-channel sketch looks contiguous in both layouts; concatenated as it comes, it turns
    [features, sketch] back into NCHW and every convolution reading it pays for a copy."""
    engine = Engine(model, device="cpu", precision="bf16")
    seen: list[tuple[str, bool]] = []
    handles = [
        module.register_forward_pre_hook(
            lambda mod, args, name=name: seen.append(
                (name, args[0].is_contiguous(memory_format=torch.channels_last))
            )
        )
        for name, module in engine._generator.named_modules()
        if isinstance(module, torch.nn.Conv2d)
    ]
    try:
        engine.run(Request(0, sketch(), seed=1))
    finally:
        for h in handles:
            h.remove()
    assert len(seen) > 10
    assert [name for name, ok in seen if not ok] == []


def test_fp32_matches_the_master_generator(model):
    engine = Engine(model, device="cpu", precision="fp32")
    assert engine.precision.name == "fp32" and engine.describe().endswith("fp32")
    noise = torch.randn(model.generator.noise_shape(1), generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        expected = model.generator(sketch()[None], noise)
    result = engine.run(Request(0, sketch(), seed=3))
    from sketchpad.sketch import tensor_to_rgb

    assert np.array_equal(result.image, tensor_to_rgb(expected))


def test_bf16_fast_path_matches_fp32(model):
    fast = Engine(model, device="cpu", precision="bf16")
    slow = Engine(model, device="cpu", precision="fp32")
    assert fast.precision.name == "bf16" and fast.precision.channels_last
    a = fast.run(Request(0, sketch(), seed=5)).image.astype(np.int16)
    b = slow.run(Request(0, sketch(), seed=5)).image.astype(np.int16)
    assert np.abs(a - b).mean() < 2.0 and np.abs(a - b).max() < 24
    # the master weights stay fp32 for the next device or precision change
    assert next(model.generator.parameters()).dtype == torch.float32


def test_runs_are_repeatable_and_seeds_vary_the_picture(model):
    engine = Engine(model, device="cpu")
    a = engine.run(Request(0, sketch(), seed=1)).image
    b = engine.run(Request(1, sketch(), seed=1)).image
    c = engine.run(Request(2, sketch(), seed=2)).image
    assert np.array_equal(a, b)  # eval mode: batch statistics do not leak between runs
    assert not np.array_equal(a, c)


def test_verdict_maps_have_the_receptive_field_sizes(model):
    engine = Engine(model, device="cpu", precision="fp32")
    result = engine.run(Request(0, sketch(), want_verdicts=True, seed=0))
    fields = receptive_fields(model.discriminator, R)
    assert [label for label, _ in result.verdicts] == model.discriminator.branch_names(R)
    for (_, probs), rf in zip(result.verdicts, fields, strict=True):
        assert probs.dtype == np.float32 and probs.shape == rf.output_size
        assert ((probs >= 0) & (probs <= 1)).all()
    assert "discriminator" in result.timings


def test_no_verdicts_means_the_discriminator_does_not_run(model, monkeypatch):
    calls = []
    cls = type(model.discriminator)
    original = cls.forward

    def spy(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "forward", spy)
    engine = Engine(model, device="cpu")
    engine.run(Request(0, sketch()))
    assert calls == []
    engine.run(Request(1, sketch(), want_verdicts=True))
    assert calls == [1]


def test_a_model_without_discriminator_has_no_verdicts():
    engine = Engine(tiny_model(with_d=False), device="cpu")
    assert engine.run(Request(0, sketch(), want_verdicts=True)).verdicts is None


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_attention_probe_weights_sum_to_one(model, precision):
    engine = Engine(model, device="cpu", precision=precision)
    result = engine.run(Request(0, sketch(), probe=(0.5, 0.25), seed=0))
    assert sorted(result.attention) == [1, 2]
    for level, weights in result.attention.items():
        side = R // 2**level
        assert weights.shape == (side, side)
        assert weights.sum() == pytest.approx(1.0, abs=1e-3)
        assert (weights >= 0).all()


def test_unet_model_runs_without_noise():
    cfg = GeneratorConfig(arch="unet", resolution=R, depth=5, base_width=4, attention_levels=())
    engine = Engine(tiny_model(with_d=False, g_cfg=cfg), device="cpu")
    assert not engine.takes_noise
    assert engine.run(Request(0, sketch(), probe=(0.5, 0.5))).image.shape == (R, R, 3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the fallback when CUDA is absent")
def test_cuda_absent_falls_back_to_cpu(model):
    engine = Engine(model, device="cuda")
    assert engine.device.type == "cpu"
    assert engine.fallback_reason and "CPU" in engine.fallback_reason
    assert engine.run(Request(0, sketch())).image.shape == (R, R, 3)
    assert engine.set_device("cpu") is None and engine.fallback_reason is None


def test_unknown_device_falls_back_with_a_reason(model):
    engine = Engine(model, device="cpu")
    reason = engine.set_device("tpu")
    assert reason and "tpu" in reason.lower() and engine.device.type == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fast_path_matches_fp32(model):
    fast = Engine(model, device="cuda")
    slow = Engine(model, device="cuda", precision="fp32")
    assert fast.precision.is_fast and fast.describe().startswith("CUDA")
    a = fast.run(Request(0, sketch(), seed=5)).image.astype(np.int16)
    b = slow.run(Request(0, sketch(), seed=5)).image.astype(np.int16)
    assert np.abs(a - b).mean() < 2.0


@pytest.mark.parametrize(
    ("resolution", "d_cfg", "labels"),
    [
        (
            64,
            DiscriminatorConfig(arch="patch", ndf=2, resolution=64, max_mult=2),
            ["70 px patches"],
        ),
        (
            64,
            DiscriminatorConfig(arch="multiscale", ndf=2, num_d=2, resolution=64, max_mult=2),
            ["scale 1/1, 70 px patches", "scale 1/2, 141 px patches"],
        ),
        (
            128,
            DiscriminatorConfig(ndf=2, branches=3, resolution=128, max_mult=2),
            ["70 px patches", "142 px patches", "global"],
        ),
    ],
)
def test_branches_describe_the_verdict_maps(resolution, d_cfg, labels):
    torch.manual_seed(0)
    g_cfg = GeneratorConfig(
        resolution=resolution, base_width=2, max_width=4, depth=3, attention_levels=(2,)
    )
    model = LoadedModel(
        build_generator(g_cfg).eval(), g_cfg, build_discriminator(d_cfg).eval(), d_cfg, {}
    )
    engine = Engine(model, device="cpu", precision="fp32")
    assert engine.attention_levels == (2,)
    verdicts = engine.run(
        Request(0, torch.zeros(1, resolution, resolution), want_verdicts=True)
    ).verdicts
    fields = receptive_fields(model.discriminator, resolution)
    assert [b.label for b in engine.branches] == [label for label, _ in verdicts] == labels
    for branch, field, (_, probs) in zip(engine.branches, fields, verdicts, strict=True):
        assert branch.field == field and probs.shape == field.output_size
    assert [b.is_global for b in engine.branches][-1] == (labels[-1] == "global")
    assert Engine(tiny_model(with_d=False), device="cpu").branches == []
