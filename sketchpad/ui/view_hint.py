"""The quiet hint an empty canvas shows: what to draw and the keys worth knowing."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette

HINT_TITLE = "Draw here"


def hint_lines(colour_hints: bool) -> tuple[str, ...]:
    """The lines under the title; the Colour tool's key only for a model that takes hints."""
    keys = ["right-click erases", "H colour hints", "V verdicts", "P probe"]
    if not colour_hints:
        keys.remove("H colour hints")
    return (
        "Line drawings like emoji work best",
        " · ".join(keys),
        "Ctrl+wheel zooms · space-drag pans · Ctrl+0 fits",
    )


def paint_hint(painter: QPainter, rect: QRectF, palette: QPalette, lines: tuple[str, ...]) -> None:
    """Draw the hint (`lines` under the title) centred in `rect` (the paper) in a light grey
    that does not compete with ink."""
    painter.save()
    colour = QColor(palette.placeholderText().color())
    if colour.lightness() < 110 or colour.lightness() > 200:
        colour = QColor(150, 150, 150)  # readable on the white paper in any theme
    painter.setPen(colour)
    title_font = QFont(painter.font())
    title_font.setPointSizeF(max(painter.font().pointSizeF(), 9.0) * 1.8)
    painter.setFont(title_font)
    title_h = painter.fontMetrics().height()
    body_font = QFont(painter.font())
    body_font.setPointSizeF(title_font.pointSizeF() / 1.8)
    body_h = painter.fontMetrics().height() / 1.8 * 1.25
    total = title_h + len(lines) * body_h + 6
    top = rect.center().y() - total / 2
    centre = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter)
    painter.drawText(QRectF(rect.x(), top, rect.width(), title_h), centre, HINT_TITLE)
    painter.setFont(body_font)
    top += title_h + 6
    for line in lines:
        painter.drawText(QRectF(rect.x() + 8, top, rect.width() - 16, body_h), centre, line)
        top += body_h
    painter.restore()
