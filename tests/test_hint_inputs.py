"""Colour hints and noise as generator inputs: the networks, model files, the engine, growing a
model's inputs for fine-tuning, the mode-seeking term, training with hints."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from models import GeneratorConfig, InvalidConfig, build_generator
from models.config import config_from_dict, config_to_dict
from models.grow import load_grown
from models.losses import mode_seeking_loss
from sketchpad.checkpoint import load_model
from sketchpad.data.hints import fit_hints, hints_from_rgba, rgba_from_hints
from sketchpad.engine import Engine, Request
from sketchpad.train.run import TrainingRun
from sketchpad.train.step import frozen_norm_statistics
from tests.conftest import TINY_G, save_tiny_model, tiny_networks
from tests.test_data_hints import spilled
from tests.test_train import tiny_config

pytestmark = pytest.mark.usefixtures("isolated_user_dirs")

HINTED = replace(TINY_G, hint_channels=4, noise_channels=2)
R = TINY_G.resolution


def ink() -> torch.Tensor:
    sketch = torch.zeros(1, R, R)
    sketch[0, 8:24, 8] = sketch[0, 8:24, 23] = sketch[0, 8, 8:24] = sketch[0, 23, 8:24] = 1
    return sketch


def red_dab(size: int = R) -> torch.Tensor:
    """Hint channels: a red square in the middle."""
    hints = torch.zeros(4, size, size)
    s = slice(size * 3 // 8, size * 5 // 8)
    hints[0, s, s], hints[3, s, s] = 1.0, 1.0  # red (1, -1, -1) × mask: G and B are -1 × 1
    hints[1, s, s] = hints[2, s, s] = -1.0
    return hints


def test_hint_channels_are_validated_and_old_configs_have_none():
    with pytest.raises(InvalidConfig, match="hint_channels"):
        replace(TINY_G, hint_channels=3)
    old = config_to_dict(TINY_G)
    old.pop("hint_channels")
    assert config_from_dict(GeneratorConfig, old).hint_channels == 0
    assert HINTED.inputs == ("ink", "hints", "noise") and TINY_G.inputs == ("ink",)


def test_hints_reach_every_scale_and_none_means_zeros():
    torch.manual_seed(0)
    g = build_generator(HINTED).eval()
    noise = torch.zeros(1, 2, R // 8, R // 8)
    with torch.no_grad():
        plain = g(ink()[None], noise)
        zeros = g(ink()[None], noise, torch.zeros(1, 4, R, R))
        hinted = g(ink()[None], noise, red_dab()[None])
    assert torch.equal(plain, zeros)
    assert (hinted - plain).abs().mean() > 1e-3
    for unit in g.encoder:  # each MRU reads the ink and the four hint channels
        assert unit.features.in_channels == unit.in_channels + 5
    with pytest.raises(ValueError, match="hint"):
        g(ink()[None], noise, torch.zeros(1, 3, R, R))


def test_model_files_record_their_inputs(tmp_path):
    old = load_model(save_tiny_model(tmp_path / "old.safetensors"))
    new = load_model(save_tiny_model(tmp_path / "new.safetensors", HINTED))
    assert not old.takes_hints and not old.takes_noise and old.inputs == ("ink",)
    assert new.takes_hints and new.takes_noise and new.inputs == ("ink", "hints", "noise")


def test_engine_uses_hints_of_any_size_and_ignores_them_without_hint_inputs(tmp_path):
    engine = Engine(load_model(save_tiny_model(tmp_path / "h.safetensors", HINTED)), "cpu", "fp32")
    assert engine.takes_hints and engine.takes_noise
    run = engine.run
    plain = run(Request(1, ink(), seed=3)).image
    small = run(Request(2, ink(), seed=3, hints=red_dab())).image
    large = run(Request(3, ink(), seed=3, hints=red_dab(4 * R))).image
    assert (small.astype(int) - plain).__abs__().mean() > 0.1
    assert (small.astype(int) - large).__abs__().max() <= 2  # the same dab, resized
    batch = engine.run_batch(
        [Request(4, ink(), seed=3, hints=red_dab()), Request(5, ink(), seed=3)]
    )
    assert (batch[0].image.astype(int) - small).__abs__().max() <= 2
    assert (batch[1].image.astype(int) - plain).__abs__().max() <= 2
    old = Engine(load_model(save_tiny_model(tmp_path / "o.safetensors")), "cpu", "fp32")
    assert not old.takes_hints
    assert (
        old.run(Request(6, ink(), hints=red_dab())).image == old.run(Request(7, ink())).image
    ).all()


def test_seeds_are_reproducible_and_differ(tmp_path):
    engine = Engine(load_model(save_tiny_model(tmp_path / "h.safetensors", HINTED)), "cpu", "fp32")
    a, b = (engine.run(Request(i, ink(), seed=11)).image for i in (1, 2))
    c = engine.run(Request(3, ink(), seed=12)).image
    assert (a == b).all() and not (a == c).all()


def test_rgba_hints_round_trip_and_bad_hints_are_named():
    hints = red_dab()
    assert torch.equal(hints_from_rgba(rgba_from_hints(hints), R), hints)
    assert fit_hints(None, 8).abs().sum() == 0
    with pytest.raises(ValueError, match="hints must be"):
        fit_hints(torch.zeros(3, R, R), R)
    with pytest.raises(ValueError, match="NaN"):
        fit_hints(torch.full((4, R, R), float("nan")), R)


def test_a_grown_generator_starts_from_the_old_pictures():
    old, _ = tiny_networks(TINY_G, None, seed=1)
    new = build_generator(HINTED)
    changed = load_grown(new, old.state_dict())
    assert "stem.weight" in changed and any(n.startswith("noise_merge") for n in changed)
    old.eval(), new.eval()
    with torch.no_grad():
        before = old(ink()[None])
        after = new(ink()[None], torch.zeros(1, 2, R // 8, R // 8), red_dab()[None] * 0)
    assert torch.allclose(before, after, atol=1e-6)
    other = build_generator(replace(TINY_G, base_width=2, max_width=8))
    with pytest.raises(ValueError, match="cannot grow"):
        load_grown(other, old.state_dict())


def test_mode_seeking_loss_falls_as_pictures_differ_more():
    z1, z2 = torch.zeros(2, 2, 4, 4), torch.ones(2, 2, 4, 4)
    base = torch.zeros(2, 3, 8, 8)
    near = mode_seeking_loss(base, base + 0.01, z1, z2)
    far = mode_seeking_loss(base, base + 0.5, z1, z2)
    assert far < near
    moved = (base + 0.01).requires_grad_(True)
    mode_seeking_loss(base, moved, z1, z2).backward()
    assert (moved.grad < 0).all()  # descending the loss moves the second picture away


def hinted_run(tmp_path, data, **loss) -> TrainingRun:
    """A 2-step run of a tiny generator with hint inputs and noise, with these loss settings."""
    extra = {f"loss.{k}": v for k, v in loss.items()}
    config = tiny_config(
        data, steps=2, **{"generator.hint_channels": 4, "generator.noise_channels": 2, **extra}
    )
    return TrainingRun(config, tmp_path / "run")


def test_training_with_hints_and_noise_reports_the_mode_seeking_term(tmp_path, data):
    run = hinted_run(tmp_path, data, mode_seeking_weight=0.1, noise_choices=1)
    sketch, image, hints = run.data.load_batch(0)
    assert hints is not None and hints.shape == (2, 4, 32, 32)
    losses = run.gan.train_step(sketch, image, hints)
    assert torch.isfinite(torch.tensor(losses["g_ms"])) and losses["g_ms"] > 0
    run.close(discard=True)


def test_fine_tuning_with_hint_flags_grows_the_models_inputs(tmp_path, data):
    TrainingRun(tiny_config(data, steps=1), tmp_path / "base").run()
    base = tmp_path / "base" / "model.safetensors"
    config = tiny_config(
        data, steps=1, **{"generator.hint_channels": 4, "generator.noise_channels": 2}
    )
    run = TrainingRun(config, tmp_path / "ft", init=base)
    assert run.config.generator.hint_channels == 4 and run.config.generator.noise_channels == 2
    path = run.run()
    assert load_model(path).inputs == ("ink", "hints", "noise")


def test_dataset_hints_are_fixed_per_item_and_lie_on_the_augmented_target(data):
    from sketchpad.data import AugmentConfig, open_source
    from sketchpad.data.hints import HintConfig, coloured_pixels

    ds = open_source(
        data, resolution=32, split="all", augment=AugmentConfig(), hints=HintConfig(p_none=0.05)
    )
    first = [ds[i] for i in range(4)]
    again = [ds[i] for i in range(4)]
    assert all(torch.equal(a["hints"], b["hints"]) for a, b in zip(first, again, strict=True))
    ds.set_epoch(1)
    later = [ds[i] for i in range(4)]
    assert any(not torch.equal(a["hints"], b["hints"]) for a, b in zip(first, later, strict=True))
    hinted = 0
    for item in first + later:
        mask = item["hints"][3] > 0
        inside = mask & coloured_pixels(item["image"])
        assert (mask <= spilled(coloured_pixels(item["image"]))).all()
        if mask.any():
            hinted += 1
            err = (item["hints"][:3, inside] - item["image"][:, inside]).abs().mean()
            assert err < 0.35  # blurred edges of a small augmented picture
    assert hinted >= 4
    assert "hints" not in open_source(data, resolution=32, split="all")[0]


def test_a_run_saved_before_the_new_augmentations_resumes_without_them():
    from sketchpad.train.config import TrainConfig, config_from_saved

    saved = TrainConfig().to_dict()
    for name in ("rescale", "wobble", "gaps"):
        saved["augment"].pop(name)
    old = config_from_saved(saved)
    assert not (old.augment.rescale or old.augment.wobble or old.augment.gaps)
    assert config_from_saved(TrainConfig().to_dict()).augment.rescale


def test_mode_seeking_asks_nothing_of_hinted_pixels():
    z1, z2 = torch.zeros(1, 2, 4, 4), torch.ones(1, 2, 4, 4)
    a = torch.zeros(1, 3, 8, 8)
    b = a.clone()
    b[..., :4] = 0.5  # the pictures differ only on the left half
    left_hinted = torch.ones(1, 1, 8, 8)
    left_hinted[..., :4] = 0.0  # open area: the right half
    open_right = mode_seeking_loss(a, b, z1, z2, open_area=left_hinted)
    everywhere = mode_seeking_loss(a, b, z1, z2)
    assert open_right > 100 * everywhere  # differences under hints earn nothing


def test_a_capped_mode_seeking_term_stops_asking_once_pictures_differ_enough():
    z1, z2 = torch.zeros(1, 2, 4, 4), torch.ones(1, 2, 4, 4)
    a = torch.zeros(1, 3, 8, 8)
    far = (a + 0.5).requires_grad_(True)
    loss = mode_seeking_loss(a, far, z1, z2, cap=0.1)
    loss.backward()
    assert loss.item() == pytest.approx(1 / (0.1 + 1e-5)) and far.grad.abs().sum() == 0
    checker = torch.zeros(1, 3, 8, 8)
    checker[..., ::2, ::2] = 1.0  # differs pixel by pixel, not in colour over 4 × 4 cells
    pooled = mode_seeking_loss(a + 0.25, checker, z1, z2, pool=4)
    assert pooled > 100 * mode_seeking_loss(a + 0.25, checker, z1, z2)


def test_noise_choices_train_on_the_noise_nearest_the_target(tmp_path, data):
    """Conditional IMLE: of the noises tried, each item gets the one whose picture is nearest
    its target, and the tries leave BatchNorm's running statistics alone."""
    run = hinted_run(tmp_path, data, noise_choices=3, mode_seeking_weight=0.0)
    sketch, image, hints = run.data.load_batch(0)
    g = run.gan.generator
    torch.manual_seed(1)
    tries = [10 * torch.randn(g.noise_shape(sketch.shape[0])) for _ in range(3)]

    def distances(tries):
        with torch.no_grad(), frozen_norm_statistics(g):
            return torch.stack(
                [(g(sketch, z, hints) - image).abs().mean(dim=(1, 2, 3)) for z in tries]
            )

    first_best = int(distances(tries)[:, 0].argmin())
    tries.append(tries.pop(first_best))  # item 0's nearest is the last try
    dist = distances(tries)
    best = dist.argmin(dim=0)
    assert best[0] == 2
    given = iter(tries)
    run.gan._noise = lambda batch: next(given)
    norms = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms
    before = [(m.running_mean.clone(), m.running_var.clone()) for m in norms]
    chosen, gap = run.gan._nearest_noise(sketch, image, hints, 3)
    for m, (mean, var) in zip(norms, before, strict=True):
        assert torch.equal(m.running_mean, mean) and torch.equal(m.running_var, var)
        assert m.momentum == 0.1
    for i, b in enumerate(best.tolist()):
        assert torch.equal(chosen[i], tries[b][i])
    assert gap == pytest.approx((dist.mean(dim=0) - dist.min(dim=0).values).mean().item())
    assert gap > 0
    del run.gan._noise
    losses = run.gan.train_step(sketch, image, hints)
    assert losses["noise_gap"] > 0 and losses["g_ms"] == 0
    run.close(discard=True)


def test_global_noise_is_one_vector_per_picture_and_other_shapes_are_refused(tmp_path):
    config = replace(HINTED, noise_global=True)
    assert config_from_dict(GeneratorConfig, config_to_dict(config)).noise_global
    old = {k: v for k, v in config_to_dict(HINTED).items() if k != "noise_global"}
    assert not config_from_dict(GeneratorConfig, old).noise_global  # older files: per cell
    g = build_generator(config).eval()
    assert g.noise_shape(3) == (3, 2, 1, 1)
    assert build_generator(HINTED).noise_shape(3) == (3, 2, R // 8, R // 8)
    with torch.no_grad():
        a = g(ink()[None], torch.zeros(1, 2, 1, 1))
        b = g(ink()[None], torch.ones(1, 2, 1, 1))
    assert (a - b).abs().mean() > 0
    with pytest.raises(ValueError, match="noise of shape"):  # per-cell noise is refused
        g(ink()[None], torch.zeros(1, 2, R // 8, R // 8))
    with pytest.raises(ValueError, match="noise of shape"):
        build_generator(HINTED)(ink()[None], torch.zeros(1, 2, 1, 1))
    # the engine draws it from the seed, in its shape
    engine = Engine(load_model(save_tiny_model(tmp_path / "g.safetensors", config)), "cpu", "fp32")
    x, y = (engine.run(Request(i, ink(), seed=s)).image for i, s in ((1, 5), (2, 6)))
    assert not (x == y).all()
    assert (engine.run(Request(3, ink(), seed=5)).image == x).all()


def test_fine_tuning_grows_global_noise_when_asked_and_keeps_a_models_own(tmp_path, data):
    TrainingRun(tiny_config(data, steps=1), tmp_path / "base").run()
    base = tmp_path / "base" / "model.safetensors"
    wanted = {"generator.noise_channels": 2, "generator.noise_global": True}
    run = TrainingRun(tiny_config(data, steps=1, **wanted), tmp_path / "ft", init=base)
    assert run.config.generator.noise_global
    grown = run.run()
    assert load_model(grown).generator_config.noise_global
    # a model that has noise keeps its own kind
    cells = {"generator.noise_channels": 2, "generator.noise_global": False}
    again = TrainingRun(tiny_config(data, steps=1, **cells), tmp_path / "ft2", init=grown)
    assert again.config.generator.noise_global
