"""OpenRaster sketches: the two layers round-trip, the file is what other programs expect, and
a bad file says what is wrong instead of crashing or eating memory."""

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from sketchpad import ora
from sketchpad.errors import DataError
from sketchpad.ora import read_ora, write_ora


def sketch(side: int = 64):
    ink = np.full((side, side, 3), 255, np.uint8)
    ink[10:14, 5:60] = 0
    ink[20:50, 30] = 90  # a grey, antialiased-looking line
    hints = np.zeros((side, side, 4), np.uint8)
    hints[30:40, 8:20] = (200, 40, 10, 255)
    hints[50:60, 40:44] = (10, 120, 250, 255)
    return ink, hints


def test_ink_and_hints_round_trip_exactly(tmp_path):
    ink, hints = sketch()
    path = write_ora(tmp_path / "s.ora", ink, hints)
    back = read_ora(path)
    assert np.array_equal(back.ink, ink)
    assert back.hints is not None and np.array_equal(back.hints, hints)


def test_the_pictures_seed_round_trips_and_an_odd_one_reads_as_none(tmp_path):
    ink, hints = sketch()
    assert read_ora(write_ora(tmp_path / "s.ora", ink, hints, seed=1234567)).seed == 1234567
    assert read_ora(write_ora(tmp_path / "n.ora", ink, hints)).seed is None
    with pytest.raises(ValueError, match="seed"):
        ora.ora_bytes(ink, hints, seed=-1)
    for odd in ("-3", "1e5", "", "99999999999", "2147483648", "٣"):
        assert ora.seed_from_text(odd) is None
    assert ora.seed_from_text("2147483647") == 2**31 - 1


def test_no_hints_reads_back_as_none(tmp_path):
    ink, _ = sketch()
    back = read_ora(write_ora(tmp_path / "s.ora", ink, None))
    assert np.array_equal(back.ink, ink) and back.hints is None


def test_the_file_is_what_openraster_readers_expect(tmp_path):
    ink, hints = sketch()
    path = write_ora(tmp_path / "s.ora", ink, hints)
    raw = path.read_bytes()
    assert raw[30:38] == b"mimetype" and raw[38:54] == b"image/openraster"  # first, uncompressed
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        names = set(zf.namelist())
        assert {"stack.xml", "mergedimage.png", "Thumbnails/thumbnail.png"} <= names
        stack = zf.read("stack.xml").decode()
        assert stack.index('name="Colour hints"') < stack.index('name="Ink"')  # hints on top
        assert 'w="64" h="64"' in stack
        thumb = Image.open(io.BytesIO(zf.read("Thumbnails/thumbnail.png")))
        merged = np.asarray(Image.open(io.BytesIO(zf.read("mergedimage.png"))).convert("RGB"))
    assert max(thumb.size) <= 256
    assert tuple(merged[0, 0]) == (255, 255, 255) and tuple(merged[12, 20]) == (0, 0, 0)
    r, g, b = merged[35, 10]
    assert r > 150 and g < 150 and b < 150  # the red hint, translucent over the paper


def test_another_programs_layers_become_the_ink(tmp_path):
    """No "Ink" layer (Krita's "Paint Layer 1"): the visible layers on white, with offsets."""
    top = Image.new("RGBA", (10, 10), (0, 0, 0, 255))
    hidden = Image.new("RGBA", (32, 32), (255, 0, 0, 255))
    stack = (
        '<image w="32" h="32"><stack>'
        '<layer name="Secret" src="data/b.png" visibility="hidden"/>'
        '<layer name="Paint Layer 1" src="data/a.png" x="4" y="6"/>'
        "</stack></image>"
    )
    path = _zip(tmp_path / "krita.ora", {"stack.xml": stack, "data/a.png": _png(top),
                                         "data/b.png": _png(hidden)})  # fmt: skip
    back = read_ora(path)
    assert back.hints is None and back.ink.shape == (32, 32, 3)
    assert tuple(back.ink[6, 4]) == (0, 0, 0) and tuple(back.ink[0, 0]) == (255, 255, 255)
    assert tuple(back.ink[20, 20]) == (255, 255, 255)  # the hidden red layer is not drawn


ADVICE = "Open a .ora saved by Sketchpad, Krita, GIMP or MyPaint, or a picture."


def test_not_a_zip(tmp_path):
    bad = tmp_path / "bad.ora"
    bad.write_bytes(b"just some text")
    with pytest.raises(DataError, match=r"bad\.ora: not an OpenRaster file.*not a zip") as err:
        read_ora(bad)
    assert str(err.value).endswith(ADVICE)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="gone.ora: cannot read"):
        read_ora(tmp_path / "gone.ora")


def test_no_stack_xml(tmp_path):
    path = _zip(tmp_path / "x.ora", {"mimetype": "image/openraster", "data/a.png": b""})
    with pytest.raises(DataError, match="not an OpenRaster file.*no stack.xml") as err:
        read_ora(path)
    assert str(err.value).endswith(ADVICE)  # the same advice as for a file that is no zip


def test_wrong_mimetype(tmp_path):
    path = _zip(tmp_path / "x.ora", {"mimetype": "application/zip", "stack.xml": "<image/>"})
    with pytest.raises(DataError, match="not an OpenRaster file.*mimetype") as err:
        read_ora(path)
    assert str(err.value).endswith(ADVICE)


@pytest.mark.parametrize(
    "stack, why",
    [
        ("<image w='64' h='64'><stack>", "not valid XML"),
        ("<svg/>", "root is <svg>"),
        ("<image w='64' h='64'><stack/></image>", "no layers"),
        ("<image w='100000' h='64'><stack/></image>", "bad w="),
        ("<image w='8000' h='8000'><stack/></image>", "megapixels"),
        ("<image w='64' h='abc'><stack/></image>", "bad h="),
        ("<image w='64' h='64'><stack><layer src='data/none.png'/></stack></image>", "missing"),
        (
            "<image w='64' h='64'><stack><layer src='data/a.png' opacity='2'/></stack></image>",
            "opacity",
        ),
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><image w="4" h="4"/>', "DOCTYPE"),
    ],
)
def test_a_bad_stack_says_what_is_wrong(tmp_path, stack, why):
    png = _png(Image.new("RGBA", (64, 64)))
    path = _zip(tmp_path / "x.ora", {"stack.xml": stack, "data/a.png": png})
    with pytest.raises(DataError, match=why):
        read_ora(path)


def test_a_huge_layer_is_refused_before_it_is_decoded(tmp_path):
    """A small PNG whose header claims 60000 × 60000 px (3.6 gigapixels)."""
    stack = "<image w='64' h='64'><stack><layer name='Ink' src='data/a.png'/></stack></image>"
    path = _zip(tmp_path / "x.ora", {"stack.xml": stack, "data/a.png": _png_claiming(60000)})
    with pytest.raises(DataError, match="60000 × 60000 px"):
        read_ora(path)


def test_a_zip_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(ora, "MAX_ENTRY_BYTES", 2**20)
    stack = "<image w='64' h='64'><stack><layer name='Ink' src='data/a.png'/></stack></image>"
    bomb = b"\0" * (4 * 2**20)  # 4 MiB of zeros deflate to a few KiB
    path = _zip(tmp_path / "x.ora", {"stack.xml": stack, "data/a.png": bomb})
    assert path.stat().st_size < 64 * 1024
    with pytest.raises(DataError, match="too large for a sketch"):
        read_ora(path)


def test_a_layer_that_is_not_a_picture(tmp_path):
    stack = "<image w='64' h='64'><stack><layer name='Ink' src='data/a.png'/></stack></image>"
    path = _zip(tmp_path / "x.ora", {"stack.xml": stack, "data/a.png": b"not a png"})
    with pytest.raises(DataError, match="'Ink' is not a readable picture"):
        read_ora(path)


def test_write_to_a_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    ink, hints = sketch()
    with pytest.raises(DataError, match="cannot write"):
        write_ora(blocker / "s.ora", ink, hints)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _png_claiming(side: int) -> bytes:
    """A PNG of one pixel whose header says side × side."""
    raw = bytearray(_png(Image.new("L", (1, 1))))
    ihdr = raw[12:29]  # b"IHDR" + 13 bytes of fields
    ihdr[4:12] = struct.pack(">II", side, side)
    raw[12:29] = ihdr
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(raw)


def _zip(path, entries: dict) -> object:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data.encode() if isinstance(data, str) else data)
    return path
