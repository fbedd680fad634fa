"""Model ▸ Remote generator…: the dialog that asks for a server and its token, and the
window's actions for the remote generator (connect, back to the local model, switch back after
a drop). The address is remembered; the token only when the user asks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from sketchpad.ui.jobs import ModelInfo
from sketchpad.ui.worker import InferenceService

URL_KEY = "remote/url"
TOKEN_KEY = "remote/token"


@dataclass(frozen=True)
class ServerChoice:
    url: str
    token: str
    remember_token: bool


class RemoteDialog(QDialog):
    """URL and token; OK is enabled once both are filled in."""

    def __init__(self, url: str, token: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Remote generator")
        intro = QLabel(
            "Draw here, generate on another machine: run <code>sketchpad serve</code> there "
            "(with <code>--host</code> for other machines) and enter its address and the token "
            "it printed."
        )
        intro.setWordWrap(True)
        self.url = QLineEdit(url)
        self.url.setPlaceholderText("ws://gpu-box:8765")
        self.token = QLineEdit(token)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("the token the server printed")
        self.remember = QCheckBox("Remember the token on this computer")
        self.remember.setChecked(bool(token))
        form = QFormLayout()
        form.addRow("Server address:", self.url)
        form.addRow("Token:", self.token)
        form.addRow("", self.remember)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Connect")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.url.textChanged.connect(self._update)
        self.token.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        ok = bool(self.url.text().strip()) and bool(self.token.text().strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def choice(self) -> ServerChoice:
        url = self.url.text().strip()
        if "://" not in url:  # "gpu-box:8765" means ws://gpu-box:8765
            url = "ws://" + url
        return ServerChoice(url, self.token.text().strip(), self.remember.isChecked())


class RemoteControls(QObject):
    """The window's remote-generator actions and what it says about the connection.
    `store` keeps the address (and the token when asked); `ask` shows the dialog (tests
    replace it); `say(text, timeout_ms)` puts a message in the status bar (0: until the next
    one); `error(title, text)` shows an error the user must see."""

    def __init__(
        self,
        parent: QWidget,
        service: InferenceService,
        store: QSettings,
        say: Callable[[str, int], None],
        error: Callable[[str, str], None],
        ask: Callable[[str, str], ServerChoice | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._window = parent
        self._service = service
        self._say = say
        self._error = error
        self._ask = ask or self._dialog
        self._pending: ServerChoice | None = None
        self.active = ""  # the server in use ("" when the model runs here)
        self.connect_action = QAction("Remote generator…", parent)
        self.connect_action.setToolTip("Generate on a `sketchpad serve` on another machine")
        self.connect_action.triggered.connect(self.choose_server)
        self.local_action = QAction("Use the local model", parent)
        self.local_action.setEnabled(False)
        self.local_action.triggered.connect(service.use_local)
        self.back_action = QAction("Switch back to the remote generator", parent)
        self.back_action.setEnabled(False)
        self.back_action.triggered.connect(self.switch_back)
        service.modelLoaded.connect(self._on_model)
        service.remoteFailed.connect(self._on_failed)
        service.remoteLost.connect(self._on_lost)
        service.remoteBack.connect(self._on_back)
        self._last: ServerChoice | None = None

    def actions(self) -> list[QAction]:
        return [self.connect_action, self.local_action, self.back_action]

    def choose_server(self) -> None:
        url = str(self._store.value(URL_KEY, "") or "")
        token = str(self._store.value(TOKEN_KEY, "") or "")
        choice = self._ask(url, token)
        if choice is None:
            return
        self._pending = choice
        self._say(f"Connecting to {_host(choice.url)}…", 0)
        self._service.connect_remote(choice.url, choice.token)

    def switch_back(self) -> None:
        if self._last is not None:
            self._service.connect_remote(self._last.url, self._last.token)

    def _dialog(self, url: str, token: str) -> ServerChoice | None:
        dialog = RemoteDialog(url, token, self._window)
        return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def _on_model(self, info: ModelInfo) -> None:
        self.active = info.remote
        self.local_action.setEnabled(bool(info.remote))
        if info.remote:
            self.back_action.setEnabled(False)
            choice = self._pending if self._pending and self._pending.url == info.remote else None
            if choice is not None:
                self._remember(choice)
                self._last, self._pending = choice, None
            self._say(f"Generating on {_host(info.remote)} ({info.name})", 8000)

    def _remember(self, choice: ServerChoice) -> None:
        self._store.setValue(URL_KEY, choice.url)
        if choice.remember_token:
            self._store.setValue(TOKEN_KEY, choice.token)
        else:
            self._store.remove(TOKEN_KEY)

    def _on_failed(self, url: str, why: str) -> None:
        self._pending = None
        still = (
            f"Still generating on {_host(self.active)}."
            if self.active
            else "Still generating with this computer's model."
        )
        self._say(f"Could not connect to {_host(url)}. {still}", 0)
        self._error("Cannot connect to the remote generator", f"{why}\n\n{still}")

    def _on_lost(self, url: str, why: str) -> None:
        self._say(
            f"Lost the server {_host(url)}: drawing with this computer's model, retrying in "
            f"the background ({why})",
            0,
        )

    def _on_back(self, url: str) -> None:
        self.back_action.setEnabled(True)
        self._say(
            f"The server {_host(url)} is back: Model ▸ Switch back to the remote generator", 0
        )


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url
