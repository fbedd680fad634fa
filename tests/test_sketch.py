"""The one normalisation path: files and canvases in, model tensors out, and back."""

import struct
import time
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from sketchpad.errors import DataError
from sketchpad.sketch import (
    RESIZE_FILTER,
    distance_field,
    image_to_tensor,
    load_image,
    photo_to_sketch,
    probe_image,
    sketch_tensor_to_rgb,
    sketch_to_tensor,
    tensor_to_pil,
    tensor_to_rgb,
)


def drawing(w=40, h=40, paper=255):
    img = Image.new("RGB", (w, h), (paper,) * 3)
    ImageDraw.Draw(img).line((4, 4, w - 5, h - 5), fill=(0, 0, 0), width=3)
    return img


def huge_png(path, side=20000):
    """A real single-colour side×side PNG: under 2 MB on disk, 400 MP once decoded."""

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    compressor = zlib.compressobj(1)
    rows = (b"\x00" + b"\xff" * side) * 1000
    body = b"".join(compressor.compress(rows) for _ in range(side // 1000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )
    return path


# --- tensors --------------------------------------------------------------------------------


def test_sketch_tensor_is_ink_density():
    t = sketch_to_tensor(drawing(), 32)
    assert t.shape == (1, 32, 32) and t.dtype == torch.float32
    assert t.min() >= 0 and t.max() <= 1
    assert t[0, 0, 31] == 0  # paper
    assert t[0, 16, 16] > 0.9  # the line crosses the centre
    assert sketch_to_tensor(Image.new("RGB", (20, 20), "white"), 16).sum() == 0


def test_non_square_is_padded_with_paper_centred():
    black = Image.new("L", (40, 20), 0)
    t = sketch_to_tensor(black, 8)[0]
    assert torch.all(t[:2] == 0) and torch.all(t[-2:] == 0)  # white bands above and below
    assert torch.all(t[2:6] == 1)
    target = image_to_tensor(Image.new("RGB", (20, 40), (255, 0, 0)), 8)
    assert torch.all(target[:, :, :2] == 1)  # white at the sides
    assert torch.allclose(target[:, 4, 4], torch.tensor([1.0, -1.0, -1.0]))


def test_grey_paper_is_normalised_to_white():
    t = sketch_to_tensor(drawing(paper=200), 32)
    assert t[0, 0, 31] == 0
    assert t[0, 16, 16] > 0.9


def test_arrays_and_pictures_agree():
    img = drawing(30, 20)
    expected = sketch_to_tensor(img, 16)
    assert torch.equal(sketch_to_tensor(np.asarray(img), 16), expected)
    assert torch.equal(sketch_to_tensor(np.asarray(img.convert("L")), 16), expected)
    rgba = np.dstack([np.asarray(img), np.full((20, 30), 255, np.uint8)])
    assert torch.equal(sketch_to_tensor(rgba, 16), expected)


def test_image_round_trip_and_output_conversion():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    t = image_to_tensor(Image.fromarray(pixels), 16)
    assert t.shape == (3, 16, 16) and t.min() >= -1 and t.max() <= 1
    assert np.array_equal(tensor_to_rgb(t), pixels)
    assert np.array_equal(tensor_to_rgb(t[None]), pixels)  # batch of one
    assert tensor_to_pil(t).size == (16, 16)
    clamped = tensor_to_rgb(torch.full((3, 2, 2), 5.0))
    assert clamped.dtype == np.uint8 and np.all(clamped == 255)
    with pytest.raises(ValueError):
        tensor_to_rgb(torch.zeros(2, 3, 4, 4))


def test_sketch_tensor_back_to_black_on_white():
    ink = torch.zeros(1, 4, 4)
    ink[0, 1, 2] = 1.0
    rgb = sketch_tensor_to_rgb(ink)
    assert rgb.shape == (4, 4, 3) and rgb.dtype == np.uint8
    assert rgb[1, 2].tolist() == [0, 0, 0] and rgb[0, 0].tolist() == [255, 255, 255]
    assert np.array_equal(sketch_tensor_to_rgb(ink[None]), rgb)


def test_one_resize_filter():
    assert RESIZE_FILTER == Image.Resampling.BOX


def test_distance_field_keeps_ink_and_fades_around_it():
    ink = torch.zeros(1, 9, 9)
    ink[0, 4, 4] = 1
    field = distance_field(ink, radius=2.0)
    assert field[0, 4, 4] == 1
    assert 0 < field[0, 4, 6] < field[0, 4, 5] < 1
    assert field.shape == ink.shape


def test_photo_to_sketch_gives_thin_dark_lines_on_white():
    photo = Image.new("RGB", (64, 48), (120, 160, 200))
    ImageDraw.Draw(photo).ellipse((10, 8, 40, 38), fill=(200, 50, 40))
    t = photo_to_sketch(photo, 32)
    assert t.shape == (1, 32, 32)
    assert (t < 0.2).float().mean() > 0.8  # mostly paper
    assert (t > 0.5).float().sum() > 10  # some lines: the circle's outline


# --- loading files --------------------------------------------------------------------------


def test_rgba_is_composited_on_white(tmp_path):
    img = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    img.putpixel((5, 5), (0, 0, 0, 255))
    img.save(tmp_path / "a.png")
    rgb = load_image(tmp_path / "a.png")
    assert rgb.mode == "RGB"
    assert rgb.getpixel((0, 0)) == (255, 255, 255) and rgb.getpixel((5, 5)) == (0, 0, 0)


def test_grey_palette_and_transparent_palette(tmp_path):
    Image.new("L", (10, 10), 77).save(tmp_path / "g.png")
    assert load_image(tmp_path / "g.png").getpixel((1, 1)) == (77, 77, 77)
    pal = Image.new("P", (10, 10), 1)
    pal.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    pal.save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").getpixel((1, 1)) == (10, 200, 30)
    pal.putpixel((0, 0), 0)
    pal.save(tmp_path / "t.gif", transparency=0)
    loaded = load_image(tmp_path / "t.gif")
    assert loaded.getpixel((0, 0)) == (255, 255, 255) and loaded.getpixel((1, 1)) == (10, 200, 30)


def test_16_bit(tmp_path):
    values = np.array([[0, 32896], [65535, 65535]], dtype=np.uint16).repeat(8, 0).repeat(8, 1)
    Image.fromarray(values).save(tmp_path / "deep.png")
    rgb = load_image(tmp_path / "deep.png")
    assert rgb.getpixel((0, 0)) == (0, 0, 0)
    assert rgb.getpixel((8, 0)) == (128, 128, 128)
    assert rgb.getpixel((0, 8)) == (255, 255, 255)


def test_cmyk(tmp_path):
    img = Image.new("CMYK", (16, 16), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (0, 0, 8, 16))
    img.save(tmp_path / "c.tif")
    img.save(tmp_path / "c.jpg", quality=95)
    for name in ("c.tif", "c.jpg"):
        rgb = np.asarray(load_image(tmp_path / name))
        assert rgb[8, 12].min() > 240 and rgb[8, 2].max() < 20, name


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), "white")
    img.paste((0, 0, 0), (0, 0, 10, 10))  # a block at the top left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    img.save(tmp_path / "r.jpg", exif=exif, quality=95)
    upright = load_image(tmp_path / "r.jpg")
    assert upright.size == (20, 40)
    assert max(upright.getpixel((15, 4))) < 40  # the block is now at the top right
    assert min(upright.getpixel((4, 4))) > 200


def test_tiny_images_are_refused_small_ones_kept(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "tiny.png")
    with pytest.raises(DataError, match=r"tiny\.png.*4×4"):
        load_image(tmp_path / "tiny.png")
    Image.new("RGB", (8, 12)).save(tmp_path / "small.png")
    assert sketch_to_tensor(load_image(tmp_path / "small.png"), 32).shape == (1, 32, 32)


def test_huge_png_is_refused_quickly(tmp_path):
    path = huge_png(tmp_path / "huge.png")
    assert path.stat().st_size < 4_000_000
    start = time.perf_counter()
    with pytest.raises(DataError, match="huge.png.*too large|huge.png.*megapixels"):
        load_image(path)
    with pytest.raises(DataError):
        probe_image(path)
    assert time.perf_counter() - start < 1.0


def test_large_jpeg_is_decoded_at_reduced_scale(tmp_path):
    Image.new("RGB", (1600, 1200), (30, 90, 200)).save(tmp_path / "big.jpg")
    small = load_image(tmp_path / "big.jpg", max_pixels=200_000)
    assert small.size == (400, 300)  # 1/4 in the decoder
    assert probe_image(tmp_path / "big.jpg", max_pixels=200_000) == (400, 300)
    with pytest.raises(DataError, match="megapixels"):
        load_image(tmp_path / "big.jpg", max_pixels=1_000)  # 1/8 is still too large


def test_non_image_and_truncated_files(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(DataError, match=r"notes\.png: not a picture"):
        load_image(tmp_path / "notes.png")
    drawing(64, 64).save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    probe_image(tmp_path / "cut.png")  # the header is fine...
    with pytest.raises(DataError, match=r"cut\.png"):
        load_image(tmp_path / "cut.png")  # ...the pixels are not
    with pytest.raises(DataError, match="no such file"):
        load_image(tmp_path / "missing.png")


# --- the GUI path is the dataset path -------------------------------------------------------


def test_canvas_and_dataset_give_identical_tensors(qapp, tmp_path):
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QImage, QPainter, QPen

    from sketchpad.data import open_source
    from sketchpad.ui.pictures import qimage_to_tensor

    canvas = QImage(48, 30, QImage.Format.Format_ARGB32_Premultiplied)  # as the GUI canvas
    canvas.fill(Qt.GlobalColor.white)
    painter = QPainter(canvas)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(Qt.GlobalColor.black, 2.5))
    painter.drawLine(QPointF(3, 4), QPointF(44, 26))
    painter.drawEllipse(QPointF(24, 15), 9, 7)
    painter.end()

    for folder in ("sketches", "images"):
        (tmp_path / folder).mkdir()
    assert canvas.save(str(tmp_path / "sketches" / "drawing.png"))
    Image.new("RGB", (48, 30), "red").save(tmp_path / "images" / "drawing.png")

    dataset = open_source(f"paired:{tmp_path}", resolution=32, split="all")
    from_file = dataset[0]["sketch"]
    from_canvas = qimage_to_tensor(canvas, 32)
    assert from_canvas.shape == (1, 32, 32) and from_canvas.sum() > 10
    assert torch.equal(from_file, from_canvas)
