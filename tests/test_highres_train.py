"""`sketchpad train-highres` and `eval --full`: the levels learn, runs resume, bad input is
refused in words."""

import pytest
import torch
import torch.nn.functional as F

from sketchpad.checkpoint import load_model
from sketchpad.errors import ConfigError, TrainingError
from sketchpad.evaluate_full import bicubic, evaluate_full, line_pixels, sharpness
from sketchpad.locks import LockHeld, ProcessLock
from sketchpad.train.highres import HighResConfig, train_highres
from sketchpad.train.run_files import LOCK_FILE
from tests.conftest import save_tiny_model


def _pairs(count=6, side=64):
    """Crisp squares: black outline (the sketch), a colour inside, white paper."""
    pairs = []
    for k in range(count):
        ink = torch.zeros(1, side, side)
        image = torch.ones(3, side, side)
        a, b = 8 + 2 * k, side - 8 - k
        ink[:, a:b, a : a + 2] = ink[:, a:b, b - 2 : b] = 1
        ink[:, a : a + 2, a:b] = ink[:, b - 2 : b, a:b] = 1
        image[:, a + 2 : b - 2, a + 2 : b - 2] = torch.tensor([1.0, -0.6, -0.6]).view(3, 1, 1)
        image = torch.where(ink > 0, -torch.ones_like(image), image)
        pairs.append((ink, image))
    return pairs


def _loader(resolution):
    assert resolution == 64  # the tiny trunk is 32 px, one ×2 level above it
    return _pairs(), [None] * 6


def test_levels_learn_and_the_model_file_has_them(tmp_path):
    model = save_tiny_model(tmp_path / "tiny.safetensors", d_config=None)
    config = HighResConfig(
        widths=(4,), steps=60, batch=4, crop=32, lr=5e-3, adversarial=False, checkpoint_every=30
    )
    events = []
    path = train_highres(model, tmp_path / "run", _loader, config, on_event=events.append)
    loaded = load_model(path)
    assert loaded.generator_config.highres_widths == (4,)
    assert loaded.metadata["highres"]["steps"] == 60
    assert [e["step"] for e in events if e["event"] == "step"] == [25, 50, 60]
    # the trunk is the tiny model's, untouched
    base = load_model(model).generator.state_dict()
    for key, value in loaded.generator.state_dict().items():
        if not key.startswith("highres."):
            assert torch.equal(value, base[key]), key
    # the full picture is nearer the targets than the trunk's picture enlarged (in L1, what
    # the levels learn; the random trunk is too far off for PSNR to follow)
    items = [{"sketch": s, "image": i} for s, i in _pairs()]
    report = evaluate_full(loaded.generator, items, 32)
    assert report["full"]["l1"]["median"] < 0.85 * report["bicubic"]["l1"]["median"]


def test_a_run_resumes_and_refuses_to_start_over(tmp_path):
    model = save_tiny_model(tmp_path / "tiny.safetensors", d_config=None)
    out = tmp_path / "run"
    short = HighResConfig(widths=(4,), steps=10, batch=2, crop=32, checkpoint_every=5)
    train_highres(model, out, _loader, short)
    with pytest.raises(TrainingError, match="--resume"):
        train_highres(model, out, _loader, short)
    events = []
    longer = HighResConfig(widths=(4,), steps=16, batch=2, crop=32, checkpoint_every=5)
    path = train_highres(model, out, _loader, longer, resume=True, on_event=events.append)
    assert any("resumed" in e.get("message", "") and "step 10" in e["message"] for e in events)
    assert load_model(path).metadata["highres"]["steps"] == 16
    with pytest.raises(TrainingError, match=r"trains levels \(4,\)"):
        other = HighResConfig(widths=(8,), steps=20, batch=2, crop=32)
        train_highres(model, out, _loader, other, resume=True)


def test_a_second_trainer_on_one_folder_is_refused(tmp_path):
    model = save_tiny_model(tmp_path / "tiny.safetensors", d_config=None)
    out = tmp_path / "run"
    with ProcessLock(out / LOCK_FILE):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        with ctx.Pool(1) as pool:  # another process: a lock is per process
            message = pool.apply(_train_in_child, (model, str(out)))
    assert "in use" in message


def _train_in_child(model, out):
    try:
        train_highres(model, out, _loader, HighResConfig(widths=(4,), steps=2, crop=32))
    except LockHeld as exc:
        return str(exc)
    return "trained"


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"widths": ()}, "widths"),
        ({"widths": (4, 4, 4, 4)}, "at most 3"),
        ({"crop": 30}, "multiple of 4"),
        ({"steps": 0}, "steps"),
        ({"lr": 2.0}, "lr"),
    ],
)
def test_bad_settings_say_what_is_wrong(fields, message):
    with pytest.raises(ConfigError, match=message):
        HighResConfig(**{"widths": (4, 2), **fields})


def test_sharpness_is_one_for_the_target_and_low_when_blurred():
    (ink, image) = _pairs(1, 128)[0]
    target = ((image + 1) / 2)[None]
    lines = line_pixels(ink[None])
    assert lines.any()
    assert sharpness(target, target, lines).item() == pytest.approx(1.0)
    small = F.interpolate(image[None], size=32, mode="area")
    blurred = (bicubic(small, 128) + 1) / 2
    assert sharpness(blurred, target, lines).item() < 0.8


def test_cli_refuses_full_eval_without_levels_and_bad_widths(tmp_path, capsys):
    from sketchpad.cli import main

    model = save_tiny_model(tmp_path / "tiny.safetensors", d_config=None)
    assert main(["eval", "--model", model, "--full", "--data", "openmoji"]) == 2
    assert "no high-resolution levels" in capsys.readouterr().err
    assert (
        main(["train-highres", "--model", model, "--out", str(tmp_path / "r"), "--widths", "8,x"])
        == 2
    )
    assert "--widths must be numbers" in capsys.readouterr().err


def test_the_full_evaluation_of_a_model_with_noise_repeats_itself_and_follows_the_seed():
    from dataclasses import replace

    from models import build_generator
    from tests.conftest import TINY_G

    torch.manual_seed(0)
    config = replace(TINY_G, noise_channels=4, noise_global=True, highres_widths=(4,))
    generator = build_generator(config).eval()
    with torch.no_grad():
        generator.noise_merge.weight.mul_(50)  # make the noise matter
    items = [{"sketch": s, "image": i} for s, i in _pairs()]
    a, b = (evaluate_full(generator, items, 32)["items"]["full"]["l1"] for _ in range(2))
    assert a == b
    assert evaluate_full(generator, items, 32, seed=1)["items"]["full"]["l1"] != a
