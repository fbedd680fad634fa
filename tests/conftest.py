import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from models import DiscriminatorConfig, GeneratorConfig, build_discriminator, build_generator
from sketchpad.checkpoint import save_model

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The user's own folders are never touched: settings, autosaves, cache and token go to a
# folder of this test session (a test that needs its own sets them again with monkeypatch;
# apps launched as subprocesses inherit them).
_USER_DIRS = tempfile.mkdtemp(prefix="sketchpad-tests-")
for _variable, _name in (
    ("SKETCHPAD_CONFIG_DIR", "config"),
    ("SKETCHPAD_DATA_DIR", "data"),
    ("SKETCHPAD_CACHE_DIR", "cache"),
):
    os.environ[_variable] = os.path.join(_USER_DIRS, _name)
atexit.register(shutil.rmtree, _USER_DIRS, ignore_errors=True)

# The tiny networks the tests share: 32 px, a few channels, built in milliseconds.
TINY_R = 32
TINY_G = GeneratorConfig(resolution=TINY_R, base_width=4, max_width=8, depth=3)
TINY_HINTED = GeneratorConfig(
    resolution=TINY_R,
    depth=3,
    base_width=4,
    max_width=8,
    attention_levels=(1,),
    hint_channels=4,
    noise_channels=2,
)
"""A tiny generator with colour-hint inputs and noise."""
TINY_D = DiscriminatorConfig(ndf=4, branches=2, resolution=TINY_R, max_mult=2)


def tiny_networks(
    g_config: GeneratorConfig = TINY_G,
    d_config: DiscriminatorConfig | None = TINY_D,
    *,
    seed: int = 0,
    attention: float | None = None,
):
    """(generator, discriminator or None), built after `torch.manual_seed(seed)`. With
    `attention`, every attention block's γ is set to it (random init leaves attention off)."""
    torch.manual_seed(seed)
    g = build_generator(g_config)
    if attention is not None:
        for block in getattr(g, "attention", {}).values():
            block.gamma.data.fill_(attention)
    d = build_discriminator(d_config) if d_config is not None else None
    return g, d


def save_tiny_model(
    path: str | Path,
    g_config: GeneratorConfig = TINY_G,
    d_config: DiscriminatorConfig | None = TINY_D,
    *,
    seed: int = 0,
    attention: float | None = None,
    name: str = "tiny",
) -> str:
    """A tiny model file (generator, and discriminator unless `d_config` is None) at `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    g, d = tiny_networks(g_config, d_config, seed=seed, attention=attention)
    save_model(path, g, g_config, d, d_config, name=name)
    return str(path)


@pytest.fixture(scope="session", autouse=True)
def _one_qapplication(qapp):
    """One QApplication for the whole session, made before any test: code that needs only a GUI
    application (the OpenMoji renderer) then reuses it, instead of creating a QGuiApplication
    on which a later widget test would abort."""
    return qapp


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    """A MainWindow factory: settings, user data, examples and the (absent) default model in
    tmp_path; error dialogs collected in `w.errors`; every window shut down after the test.
    `make(model=None, engine_factory=None, show=False)` starts `model` when given (waiting for
    its first frame); `show` opens the window at 900 × 520 first."""
    from PySide6.QtCore import QSettings

    from sketchpad.ui.main_window import MainWindow

    monkeypatch.setenv("SKETCHPAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(
        "sketchpad.ui.main_window.default_model_path", lambda: tmp_path / "absent.safetensors"
    )
    monkeypatch.setattr("sketchpad.ui.main_window.examples_dir", lambda: tmp_path / "examples")
    windows = []

    def make(model=None, engine_factory=None, show=False):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        w = MainWindow(settings=settings, engine_factory=engine_factory, device="cpu")
        w.errors = []
        w.show_error = lambda title, text: w.errors.append((title, text))
        w.ask_save_changes = lambda: "discard"
        qtbot.addWidget(w)
        if show:
            w.resize(900, 520)
            w.show()
        windows.append(w)
        if model is not None:
            with qtbot.waitSignal(w.frameShown, timeout=10_000):
                w.start(model)
        return w

    yield make
    for w in windows:
        w.shutdown()


@pytest.fixture
def isolated_user_dirs(tmp_path, monkeypatch):
    """The user's cache and data folders in tmp_path (runs, rendered data sets, autosaves)."""
    monkeypatch.setenv("SKETCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SKETCHPAD_DATA_DIR", str(tmp_path / "data"))
    yield
    torch.use_deterministic_algorithms(False)  # the trainer's deterministic mode is global


@pytest.fixture
def data(tmp_path) -> str:
    """A `--data` spec: ten small sketch/picture pairs (tests/train_helpers.py)."""
    from tests.train_helpers import make_paired

    return "paired:" + str(make_paired(tmp_path / "pairs"))


@pytest.fixture
def train_tab_env(tmp_path, monkeypatch) -> dict[str, str]:
    """User folders in tmp_path, no default model, and the environment for the Train tab's
    trainer child (one thread, offscreen)."""
    data_dir, cache_dir = tmp_path / "user", tmp_path / "cache"
    monkeypatch.setenv("SKETCHPAD_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SKETCHPAD_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr(
        "sketchpad.ui.train_settings.default_model_path", lambda: tmp_path / "absent.safetensors"
    )
    return {
        "SKETCHPAD_DATA_DIR": str(data_dir),
        "SKETCHPAD_CACHE_DIR": str(cache_dir),
        "OMP_NUM_THREADS": "1",
        "QT_QPA_PLATFORM": "offscreen",
    }


@pytest.fixture
def hinted_model(tmp_path) -> str:
    """A tiny model file with hint inputs and noise (no discriminator)."""
    return save_tiny_model(tmp_path / "hinted.safetensors", TINY_HINTED, None, name="hinted")


@pytest.fixture
def plain_model(tmp_path) -> str:
    """No hint inputs, no noise: what older model files (and the default model) are."""
    return save_tiny_model(tmp_path / "plain.safetensors", TINY_G, None, name="plain")


@pytest.fixture
def served():
    """A `sketchpad serve` on a tiny model in this process, stopped after the test."""
    from remote_helpers import ThreadedServer

    s = ThreadedServer()
    yield s
    s.stop()
