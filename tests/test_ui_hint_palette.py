"""The hint palette's recent colours stay where they are: a click on a swatch only selects it;
a colour not in the row yet takes the least recently used slot, in place."""

from PySide6.QtGui import QColor

from sketchpad.ui.hint_tools import DEFAULT_COLOURS, RECENT_COUNT, HintPalette


def names(palette: HintPalette) -> list[str]:
    return [c.name() for c in palette.recent()]


def test_clicking_a_swatch_selects_it_and_moves_nothing(qtbot):
    palette = HintPalette()
    qtbot.addWidget(palette)
    row = names(palette)
    brown, blue = row.index("#8a5a34"), row.index("#4a90d9")
    palette.swatches[brown].click()
    assert palette.colour.name() == "#8a5a34" and names(palette) == row
    palette.swatches[blue].click()  # where blue was, blue still is
    assert palette.colour.name() == "#4a90d9" and names(palette) == row
    assert palette.swatches[blue].isChecked() and not palette.swatches[brown].isChecked()


def test_a_new_colour_replaces_the_least_recently_used_slot_in_place(qtbot):
    palette = HintPalette()
    qtbot.addWidget(palette)
    palette.ask_colour = lambda initial: QColor(1, 2, 3)
    for i in range(RECENT_COUNT - 1):  # every slot but the last used since
        palette.swatches[i].click()
    palette.colour_button.click()
    expected = [*DEFAULT_COLOURS[:-1], "#010203"]
    assert names(palette) == expected and palette.colour.name() == "#010203"
    palette.swatches[0].click()  # slot 0 was used before slots 1..6: slot 1 is the oldest now
    palette.set_colour(QColor(4, 5, 6))  # an Alt-click pick
    expected[1] = "#040506"
    assert names(palette) == expected and len(names(palette)) == RECENT_COUNT


def test_the_colour_in_use_is_remembered_apart_from_the_row(qtbot):
    palette = HintPalette()
    qtbot.addWidget(palette)
    palette.set_recent(["#111111", "#222222", "bad"], current="#222222")
    assert names(palette)[:2] == ["#111111", "#222222"] and len(names(palette)) == RECENT_COUNT
    assert palette.colour.name() == "#222222"
    palette.set_recent(["#111111"], current="#333333")  # not in the row: the first one
    assert palette.colour.name() == "#111111"
