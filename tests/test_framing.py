"""Fitting a small drawing to the model's frame (`sketchpad.framing`): where the frame goes,
what the model sees, the picture put back where it was drawn, through the engine (preview,
full picture, batches, verdicts, attention), the wire, `eval --frame` and `generate`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from models import GeneratorConfig
from sketchpad import framing
from sketchpad.checkpoint import load_model
from sketchpad.cli import main
from sketchpad.engine import Engine, Request
from sketchpad.remote import protocol
from tests.conftest import TINY_G, TINY_HINTED, TINY_R, save_tiny_model


def ring(size: int, centre: tuple[float, float], radius: float, width: float) -> torch.Tensor:
    """A (1, size, size) anti-aliased ring of ink: centre and radius as shares of the canvas,
    `width` in pixels."""
    yy, xx = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    d = torch.sqrt((yy - centre[0] * size) ** 2 + (xx - centre[1] * size) ** 2)
    return (width / 2 + 0.5 - (d - radius * size).abs()).clamp(0, 1)[None]


def test_a_drawing_as_large_as_the_data_is_left_as_drawn():
    assert framing.choose_frame(torch.zeros(1, 128, 128)) is None  # no ink
    assert framing.choose_frame(ring(128, (0.5, 0.5), 0.38, 3.4)) is None
    # large but off the middle: the model knows such drawings, it is not moved
    assert framing.choose_frame(ring(128, (0.6, 0.45), 0.36, 3.4)) is None


def test_a_small_off_centre_drawing_is_enlarged_and_centred_in_its_frame():
    ink = ring(128, (0.3, 0.7), 0.12, 3.4)  # box about 0.25 of the canvas, top right
    frame = framing.choose_frame(ink)
    assert frame is not None
    assert frame.y == pytest.approx(0.3, abs=0.01) and frame.x == pytest.approx(0.7, abs=0.01)
    top, bottom, left, right = framing.ink_box(ink)
    assert frame.zoom == pytest.approx(framing.TARGET_SIDE * 128 / (bottom - top + 1), rel=1e-6)
    seen = framing.frame_ink(ink[None], frame)[0]
    top, bottom, left, right = framing.ink_box(seen)
    assert (bottom - top + 1) / 128 == pytest.approx(framing.TARGET_SIDE, abs=0.03)
    assert (top + bottom + 1) / 256 == pytest.approx(0.5, abs=0.02)
    assert (left + right + 1) / 256 == pytest.approx(0.5, abs=0.02)
    # enlarging fattened the strokes zoom times; thinning takes back half of what it added
    drawn, enlarged = framing.stroke_width(ink), drawn_enlarged(ink, frame)
    assert enlarged == pytest.approx(drawn * frame.zoom, rel=0.1)
    assert drawn < framing.stroke_width(seen) < enlarged - 1.0
    # a dot is not blown up past MAX_ZOOM
    dot = ring(128, (0.5, 0.5), 0.02, 2.0)
    assert framing.choose_frame(dot).zoom == framing.MAX_ZOOM


def drawn_enlarged(ink: torch.Tensor, frame: framing.Frame) -> float:
    return framing.stroke_width(framing.crop(ink[None], frame)[0])


@pytest.mark.parametrize("width", [2.0, 3.4, 6.0])
def test_stroke_width_is_measured_in_pixels(width):
    assert framing.stroke_width(ring(128, (0.5, 0.5), 0.3, width)) == pytest.approx(width, rel=0.1)


def test_the_picture_is_put_back_where_the_drawing_is_on_white_paper():
    frame = framing.Frame(0.3, 0.65, 0.4)
    gen = torch.Generator().manual_seed(0)
    canvas = torch.rand(1, 3, 128, 128, generator=gen) * 2 - 1
    canvas = torch.nn.functional.avg_pool2d(canvas, 9, 1, 4)  # smooth, so resampling is fair
    painted = framing.crop(canvas, frame)  # the frame's square, enlarged to 128 px
    back = framing.paste(painted, frame)
    assert back.shape == canvas.shape
    inside = (slice(None), slice(None), slice(28, 48), slice(66, 100))  # well inside the frame
    assert (back[inside] - canvas[inside]).abs().mean() < 0.02
    outside = back[..., 90:, :]  # below the frame (rows 13..64 of 128 hold it)
    assert torch.equal(outside, torch.ones_like(outside))
    # the same at another size (a full picture of 4x the model's)
    big = framing.paste(painted, frame, 512)
    assert big.shape == (1, 3, 512, 512) and bool((big[..., 360:, :] == 1).all())
    # attention weights mapped back still sum to 1, and lie inside the frame
    weights = framing.paste_weights(torch.full((16, 16), 1 / 256), frame)
    assert weights.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert weights[12:].sum() == 0


def small_sketch(size: int = TINY_R) -> torch.Tensor:
    return ring(size, (0.7, 0.3), 0.1, 1.5 * size / TINY_R)


def test_the_engine_paints_a_small_drawing_in_its_frame_and_puts_it_back(tmp_path):
    model = load_model(save_tiny_model(tmp_path / "m.safetensors", attention=0.5))
    engine = Engine(model, "cpu", "fp32")
    judged = []
    verdicts = engine._verdicts

    def spy(sketch, fake):
        judged.append((sketch.clone(), fake.clone()))
        return verdicts(sketch, fake)

    engine._verdicts = spy
    sketch = small_sketch()
    plain = engine.run(Request(1, sketch, want_verdicts=True, probe=(0.7, 0.3)))
    fitted = engine.run(Request(2, sketch, want_verdicts=True, probe=(0.7, 0.3), frame=True))
    assert plain.frame is None and fitted.frame is not None and fitted.frame.zoom > 1.5
    assert fitted.image.shape == plain.image.shape == (TINY_R, TINY_R, 3)
    assert not np.array_equal(fitted.image, plain.image)
    # above the frame the canvas is white paper: the picture went back where the ink is
    top = round((fitted.frame.y - fitted.frame.side / 2) * TINY_R) - 1
    assert (fitted.image[:top] == 255).all()
    # the verdicts judge the drawing as drawn and the picture as shown, on the same maps
    assert [v[1].shape for v in fitted.verdicts] == [v[1].shape for v in plain.verdicts]
    seen_sketch, seen_picture = judged[-1]
    assert torch.equal(seen_sketch[0], sketch)
    assert (
        np.abs(
            ((seen_picture[0].permute(1, 2, 0) + 1) * 127.5).round().numpy() - fitted.image
        ).max()
        <= 1
    )
    # the attention is mapped back onto the canvas: nothing outside the frame
    assert fitted.attention and set(fitted.attention) == set(plain.attention)
    for level, w in fitted.attention.items():
        assert w.shape == plain.attention[level].shape
        assert w.sum() == pytest.approx(1.0, abs=1e-4)
        top, bottom, left, right = framing._covered(fitted.frame, w.shape[-1])
        assert w[:top].sum() == w[bottom:].sum() == w[:, right:].sum() == 0
        assert w[:, :left].sum() == 0
        assert w[top:bottom, left:right].sum() == pytest.approx(1.0, abs=1e-4)
    # a probe outside the frame has no attention to show (it would be the frame edge's)
    outside = engine.run(Request(7, sketch, probe=(0.05, 0.95), frame=True))
    assert outside.frame is not None and outside.attention is None
    # a batch paints each request as alone
    both = engine.run_batch([Request(3, sketch, frame=True), Request(4, sketch)])
    assert np.abs(both[0].image.astype(int) - fitted.image.astype(int)).max() <= 1
    assert both[0].frame == fitted.frame and both[1].frame is None
    # a drawing that needs no fitting is painted as without the request
    big = ring(TINY_R, (0.5, 0.5), 0.38, 1.5)
    a, b = engine.run(Request(5, big)), engine.run(Request(6, big, frame=True))
    assert b.frame is None and np.array_equal(a.image, b.image)


def test_hints_are_cut_to_the_frame(hinted_model):
    engine = Engine(load_model(hinted_model), "cpu", "fp32")
    sketch = small_sketch()
    hints = torch.zeros(4, 4 * TINY_R, 4 * TINY_R)  # a red dab inside the ring, at 4x
    hints[0, 86:94, 34:42], hints[1:3, 86:94, 34:42], hints[3, 86:94, 34:42] = 1, -1, 1
    seen = []
    trunk = engine._generator.trunk

    def spy(sketch, noise, probe, hints, between):
        seen.append(hints)
        return trunk(sketch, noise, probe, hints, between)

    engine._generator.trunk = spy
    engine.run(Request(1, sketch, seed=0, hints=hints, frame=True))
    mask = seen[-1][0, 3]
    ys, xs = torch.where(mask > 0.5)
    assert ys.numel() > 0  # the dab survived the crop, enlarged, near the frame's middle
    assert abs(ys.float().mean().item() / TINY_R - 0.5) < 0.1
    assert abs(xs.float().mean().item() / TINY_R - 0.5) < 0.1
    # hints at the model's own size (as the app sends them): the mask stays 0 or 1, as in
    # training, and the colour is the dab's
    small = torch.zeros(4, TINY_R, TINY_R)
    small[0, 21:24, 8:11], small[1:3, 21:24, 8:11], small[3, 21:24, 8:11] = 1, -1, 1
    engine.run(Request(2, sketch, seed=0, hints=small, frame=True))
    got = seen[-1][0]
    assert set(got[3].unique().tolist()) == {0.0, 1.0} and got[3].sum() > 9
    hinted = got[3] > 0
    assert torch.allclose(got[0][hinted], torch.ones(1)) and (got[1][hinted] == -1).all()
    # a dab outside the drawing's frame (coloured paper, say): painted as drawn
    small[3, 2:4, 28:30], small[:3, 2:4, 28:30] = 1, 0.5
    assert engine.run(Request(3, sketch, seed=0, hints=small, frame=True)).frame is None


def test_the_full_picture_of_a_fitted_drawing_is_put_back_at_its_size(tmp_path):
    config = GeneratorConfig(**{**TINY_G.__dict__, "highres_widths": (4,)})  # 32 -> 64 px
    engine = Engine(load_model(save_tiny_model(tmp_path / "h.safetensors", config)), "cpu")
    request = Request(1, small_sketch(), full_sketch=small_sketch(64), frame=True)
    painted = []
    full = engine._generator.full

    def spy(trunk, sketch, hints, between):
        painted.append(sketch.clone())
        return full(trunk, sketch, hints, between)

    engine._generator.full = spy
    result = engine.run(request)
    # the levels saw the full sketch fitted as the preview's: enlarged, centred
    top, bottom, left, right = framing.ink_box(painted[-1][0])
    assert (top + bottom + 1) / 128 == pytest.approx(0.5, abs=0.04)
    assert (left + right + 1) / 128 == pytest.approx(0.5, abs=0.04)
    drawn_top, drawn_bottom, _, _ = framing.ink_box(small_sketch(64))
    assert bottom - top > 1.5 * (drawn_bottom - drawn_top)  # (thinned: a little under zoom×)
    assert result.full and result.image.shape == (64, 64, 3) and result.frame is not None
    top = round((result.frame.y - result.frame.side / 2) * 64) - 2
    assert (result.image[:top] == 255).all()
    again = engine.run_full(request)  # on the kept trunk: the same picture
    assert np.abs(again.image.astype(int) - result.image.astype(int)).max() <= 1


def test_the_wire_carries_the_request_to_fit_and_the_frame_back():
    ink = np.zeros((8, 8), np.float32)
    header, payload = protocol.unpack(protocol.encode_request(1, ink, frame=True))
    assert protocol.decode_request(header, payload, 8).frame is True
    header, payload = protocol.unpack(protocol.encode_request(1, ink))
    assert "frame" not in header and protocol.decode_request(header, payload, 8).frame is False
    with pytest.raises(protocol.ProtocolError, match="'frame' must be bool"):
        protocol.decode_request({**header, "frame": "yes"}, payload, 8)
    picture = np.zeros((8, 8, 3), np.uint8)
    message = protocol.encode_result(1, picture, None, None, {}, 1, frame=(0.3, 0.7, 0.5, 1.0))
    assert protocol.decode_result(*protocol.unpack(message)).frame == (0.3, 0.7, 0.5, 1.0)
    header, payload = protocol.unpack(protocol.encode_result(1, picture, None, None, {}, 1))
    assert "frame" not in header and protocol.decode_result(header, payload).frame is None
    for bad, why in (("big", "must be"), ([0.5, 0.5, 2.0, 0.0], "out of range"), ([1, 2], "must")):
        with pytest.raises(protocol.ProtocolError, match=why):
            protocol.decode_result({**header, "frame": bad}, payload)


def test_eval_frame_and_generate_fit_small_drawings(tmp_path, capsys, data):
    model = save_tiny_model(tmp_path / "m.safetensors", TINY_HINTED, None)
    args = [
        "eval",
        "--model",
        model,
        "--data",
        data,
        "--split",
        "train",
        "--limit",
        "4",
        "--perturb",
    ]
    assert main([*args, "--frame", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frame"] is True and "perturbed" in report
    assert main([*args, "--json"]) == 0
    as_drawn = json.loads(capsys.readouterr().out)
    # the perturbed drawings are small: fitting them changes what the model paints
    assert report["perturbed"]["metrics"] != as_drawn["perturbed"]["metrics"]
    assert main([*args, "--frame", "--full"]) == 2
    assert "--frame" in capsys.readouterr().err
    # generate fits by default, as the app does, and paints as drawn with --as-drawn
    ink = small_sketch(TINY_R)[0].numpy()
    Image.fromarray(((1 - ink) * 255).astype(np.uint8)).save(tmp_path / "small.png")
    for flag, name in (([], "fit.png"), (["--as-drawn"], "as_drawn.png")):
        assert main(["generate", str(tmp_path / "small.png"), "--model", model, "--out",
                     str(tmp_path / name), *flag]) == 0  # fmt: skip
    fit = np.asarray(Image.open(tmp_path / "fit.png"))
    drawn = np.asarray(Image.open(tmp_path / "as_drawn.png"))
    assert not np.array_equal(fit, drawn)


def test_a_remote_generator_fits_as_the_local_engine_does(served):
    from remote_helpers import TOKEN, tiny_model

    from sketchpad.remote.client import RemoteEngine

    local = Engine(tiny_model(), "cpu", "fp32")
    remote = RemoteEngine(served.url, TOKEN)
    try:
        for frame in (True, False):
            want = local.run(Request(1, small_sketch(), seed=3, frame=frame))
            got = remote.run(Request(1, small_sketch(), seed=3, frame=frame))
            assert np.abs(want.image.astype(int) - got.image.astype(int)).max() <= 1
            # the reply says how it was painted (from the ink as sent: 8 bits a pixel)
            assert (got.frame is None) == (want.frame is None) == (not frame)
            if frame:
                g, w = got.frame, want.frame
                assert (g.y, g.x, g.side) == pytest.approx((w.y, w.x, w.side), abs=0.02)
                assert g.thin == pytest.approx(w.thin, abs=0.05)
        fitted = local.run(Request(2, small_sketch(), seed=3, frame=True)).image
        assert not np.array_equal(fitted, local.run(Request(2, small_sketch(), seed=3)).image)
    finally:
        remote.close()


def test_a_drawing_growing_past_the_threshold_does_not_jump():
    """Rings from 0.2 to 0.3 of the canvas in radius, off-centre: the enlargement and the
    frame's centre change by small steps, down to as drawn."""
    last = None
    for i in range(41):
        frame = framing.choose_frame(ring(128, (0.4, 0.6), 0.2 + 0.0025 * i, 3.4))
        now = (1.0, 0.5, 0.5) if frame is None else (frame.zoom, frame.y, frame.x)
        if last is not None:
            assert abs(now[0] - last[0]) < 0.08 and abs(now[1] - last[1]) < 0.02, (i, now, last)
        last = now
    assert last == (1.0, 0.5, 0.5)  # the largest is painted as drawn
