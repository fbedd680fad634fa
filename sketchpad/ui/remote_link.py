"""The inference worker's link to a remote generator: which server, the background
reconnection after a drop, and the engine it got back, kept until the user switches to it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

RemoteFactory = Callable[[str, str], Any]
"""(server URL, token) -> a connected remote engine (`EngineLike`); raises SketchpadError
when it cannot connect. The engine's `run` raises `ConnectionLost` when the connection drops."""

RECONNECT_INTERVAL_MS = 5000
"""How often a lost server is tried again."""


def default_remote_factory(url: str, token: str) -> Any:
    from sketchpad.remote.client import RemoteEngine

    return RemoteEngine(url, token)


def close_engine(engine: object) -> None:
    """Close a remote engine's connection (a local engine has nothing to close)."""
    close = getattr(engine, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):  # a connection already gone
            close()


class RemoteLink(QObject):
    """Lives in the worker's thread. `url` is the server in use or being retried (None: the
    model runs here)."""

    back = Signal(str)
    """The server answers again (URL); `connect` with it switches without a new handshake."""

    def __init__(self, factory: RemoteFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self.url: str | None = None
        self._token = ""
        self._standby: Any = None
        self._timer: QTimer | None = None

    def connect(self, url: str, token: str) -> Any:
        """A connected engine for `url`: the one reconnected in the background, if it is for
        that server, or a new connection. Raises what the factory raises."""
        standby, self._standby = self._standby, None
        self._stop()
        if standby is not None and url == self.url:
            engine = standby
        else:
            close_engine(standby)
            engine = self._factory(url, token)
        self.url, self._token = url, token
        return engine

    def reconnect_later(self) -> None:
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.setInterval(RECONNECT_INTERVAL_MS)
            self._timer.timeout.connect(self._try)
        self._timer.start()

    def forget(self) -> None:
        """No server any more: stop retrying and close a standby connection."""
        self._stop()
        close_engine(self._standby)
        self._standby = None
        self.url = None

    @property
    def retrying(self) -> bool:
        return self._timer is not None and self._timer.isActive()

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    @Slot()
    def _try(self) -> None:
        if self.url is None:
            self._stop()
            return
        try:
            self._standby = self._factory(self.url, self._token)
        except Exception:  # still away; the timer tries again
            return
        self._stop()
        self.back.emit(self.url)
