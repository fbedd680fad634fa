"""High-resolution levels: the networks, BatchNorm folding, the engine's two steps, the
levels' trainer and the full-resolution measures."""

import copy

import pytest
import torch
import torch.nn.functional as F

from models import GeneratorConfig, InvalidConfig, build_generator, fold_batchnorm
from sketchpad.checkpoint import LoadedModel, load_model, save_model
from sketchpad.engine import Engine, Request, Stale
from tests.conftest import TINY_G, TINY_HINTED

HIGH = GeneratorConfig(**{**TINY_G.__dict__, "highres_widths": (4, 2)})  # 32 → 128 px


def _sketch(side, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(1, 1, side, side, generator=g) > 0.85).float()


def test_levels_paint_the_output_resolution_and_start_as_the_trunk_enlarged():
    torch.manual_seed(0)
    g = build_generator(HIGH).eval()
    assert HIGH.output_resolution == 128
    with torch.no_grad():
        trunk = g.trunk(_sketch(32))
        out = g.full(trunk, _sketch(128))
        assert out.shape == (1, 3, 128, 128)
        assert torch.equal(g(_sketch(32)), trunk.image)  # forward stays the trunk's picture
        # a zero head: the trunk's picture, smoothly enlarged
        enlarged = F.interpolate(trunk.image, size=128, mode="bilinear")
        assert torch.allclose(out, enlarged, atol=1e-6)
        # trained levels follow the full-resolution sketch: two sketches that agree at 32 px
        # but not at 128 px give different full pictures
        torch.nn.init.normal_(g.highres.head.weight, std=0.5)
        fine = torch.zeros(1, 1, 128, 128)
        fine[..., ::2, :] = 1.0  # thin stripes: the same 0.5 grey as `flat` once averaged
        flat = torch.full((1, 1, 128, 128), 0.5)
        a, b = g.full(trunk, fine), g.full(trunk, flat)
        assert (a - b).abs().mean() > 0.01


def test_levels_check_the_condition_size():
    g = build_generator(HIGH).eval()
    trunk = g.trunk(_sketch(32))
    with pytest.raises(ValueError, match="need 128×128"):
        g.full(trunk, _sketch(64))


@pytest.mark.parametrize(
    "widths, message",
    [((4, 0), "outside 1..64"), ((65,), "outside 1..64"), ((4, 4, 4, 4), "at most 3")],
)
def test_config_rejects_absurd_levels(widths, message):
    with pytest.raises(InvalidConfig, match=message):
        GeneratorConfig(**{**TINY_G.__dict__, "highres_widths": widths})


def test_config_rejects_levels_on_the_unet_and_past_the_largest_side():
    with pytest.raises(InvalidConfig, match="U-Net"):
        GeneratorConfig(**{**GeneratorConfig.pix2pix_unet(32).__dict__, "highres_widths": (4,)})
    with pytest.raises(InvalidConfig, match="at most 2048"):
        GeneratorConfig(resolution=512, depth=5, highres_widths=(4, 4, 4))


def test_folded_batchnorm_gives_the_same_picture():
    torch.manual_seed(1)
    g = build_generator(HIGH)
    for m in g.modules():  # statistics a trained network would have
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    g.eval()
    folded = copy.deepcopy(g)
    assert fold_batchnorm(folded) == HIGH.depth * 2 + 1  # encoder, bottleneck, decoder
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    with torch.no_grad():
        assert torch.allclose(g(_sketch(32)), folded(_sketch(32)), atol=1e-5)


def test_between_is_called_per_unit_and_can_stop_the_trunk():
    g = build_generator(HIGH).eval()
    calls = []
    with torch.no_grad():
        trunk = g.trunk(_sketch(32), between=lambda: calls.append(1))
        assert len(calls) == 2 * HIGH.depth
        g.full(trunk, _sketch(128), between=lambda: calls.append(2))
    assert calls.count(2) == 2

    def stop():
        raise Stale()

    with pytest.raises(Stale):
        g.trunk(_sketch(32), between=stop)


@pytest.fixture
def high_model(tmp_path):
    torch.manual_seed(0)
    g = build_generator(HIGH)
    torch.nn.init.normal_(g.highres.head.weight, std=0.1)
    return save_model(tmp_path / "high.safetensors", g, HIGH, name="high")


def test_model_file_keeps_the_levels(high_model):
    model = load_model(high_model)
    assert model.generator_config.highres_widths == (4, 2)
    assert model.generator_config.output_resolution == 128
    assert model.generator.highres is not None


def test_engine_paints_the_preview_then_the_full_picture_on_the_kept_trunk(high_model):
    engine = Engine(load_model(high_model), "cpu", "fp32")
    assert (engine.resolution, engine.output_resolution, engine.has_highres) == (32, 128, True)
    sketch, full = _sketch(32)[0], _sketch(128)[0]
    trunks = []
    real_trunk = engine._generator.trunk
    engine._generator.trunk = lambda *a, **k: trunks.append(1) or real_trunk(*a, **k)
    request = Request(7, sketch, full_sketch=full)
    preview = engine.run(Request(7, sketch))
    assert preview.image.shape == (32, 32, 3) and not preview.full
    picture = engine.run_full(request)
    assert picture.image.shape == (128, 128, 3) and picture.full
    assert len(trunks) == 1  # the trunk ran once, for the preview
    engine.run_full(Request(8, sketch, full_sketch=full))  # another sketch: its trunk runs
    assert len(trunks) == 2
    # one call, as the command line and the server use it
    both = engine.run(Request(9, sketch, full_sketch=full))
    assert both.full and both.image.shape == (128, 128, 3)
    assert (both.image == picture.image).all()
    with pytest.raises(ValueError, match="paints 128 px"):
        engine.run_full(Request(10, sketch, full_sketch=_sketch(64)[0]))


def test_engine_full_picture_matches_the_reference_network(high_model):
    model = load_model(high_model)
    engine = Engine(model, "cpu", "auto")  # folded, channels_last, maybe bf16
    sketch, full = _sketch(32, 3)[0], _sketch(128, 3)[0]
    got = engine.run(Request(1, sketch, full_sketch=full)).image.astype("float32")
    with torch.no_grad():
        ref = model.generator.full(model.generator.trunk(sketch[None]), full[None])[0]
    want = ((ref.permute(1, 2, 0) + 1) * 127.5).clamp(0, 255).numpy()
    tolerance = 0.05 if engine.precision.is_fast else 0.01
    assert abs(got - want).mean() / 255 < tolerance


def test_engine_stops_when_between_says_stale(high_model):
    engine = Engine(load_model(high_model), "cpu", "fp32")

    def stop():
        raise Stale()

    with pytest.raises(Stale):
        engine.run(Request(1, _sketch(32)[0]), stop)
    with pytest.raises(Stale):
        engine.run_full(Request(1, _sketch(32)[0], full_sketch=_sketch(128)[0]), stop)


def test_model_without_levels_full_picture_is_the_preview(tmp_path):
    from tests.conftest import save_tiny_model

    engine = Engine(load_model(save_tiny_model(tmp_path / "m.safetensors")), "cpu", "fp32")
    assert not engine.has_highres and engine.output_resolution == 32
    result = engine.run_full(Request(1, _sketch(32)[0], full_sketch=_sketch(32)[0]))
    assert result.full and result.image.shape == (32, 32, 3)


def test_hinted_levels_take_hints_at_full_resolution(tmp_path):
    config = GeneratorConfig(**{**TINY_HINTED.__dict__, "highres_widths": (4,)})
    torch.manual_seed(0)
    g = build_generator(config)
    torch.nn.init.normal_(g.highres.head.weight, std=0.3)
    engine = Engine(LoadedModel(g.eval(), config), "cpu", "fp32")
    hints = torch.zeros(4, 64, 64)
    hints[0, 20:40, 20:40] = 1.0
    hints[3, 20:40, 20:40] = 1.0
    sketch, full = _sketch(32)[0], _sketch(64)[0]
    a = engine.run(Request(1, sketch, seed=1, full_sketch=full)).image.astype(float)
    b = engine.run(Request(2, sketch, seed=1, hints=hints, full_sketch=full)).image.astype(float)
    assert a.shape == (64, 64, 3)
    assert abs(a - b).mean() > 0.5
