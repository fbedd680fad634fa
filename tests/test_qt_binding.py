"""The Qt binding the app runs on keeps Python's books: PySide6 6.12.0 on Python 3.11 drops a
reference to None on every call of a method that returns nothing (QPainter.drawLine,
QWidget.update, ...), so a minute of drawing frees None and aborts the interpreter ("Fatal
Python error: none_dealloc"). pyproject.toml excludes that release; this catches any other
that does the same."""

import sys

from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage, QPainter, QPen


def test_void_qt_calls_keep_the_reference_count_of_none(qapp):
    image = QImage(64, 64, QImage.Format.Format_Grayscale8)
    image.fill(255)
    painter = QPainter(image)
    before = sys.getrefcount(None)
    for _ in range(2000):  # a few seconds of strokes
        painter.setPen(QPen())
        painter.drawLine(QPointF(1, 1), QPointF(30, 30))
    after = sys.getrefcount(None)
    painter.end()
    assert after >= before - 50, f"None lost {before - after} references in 4000 Qt calls"
