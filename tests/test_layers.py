"""Keep DESIGN.md's layer arrows honest: ui -> core -> models -> torch."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_models_import_only_torch_and_stdlib():
    bad = {}
    for path in (ROOT / "models").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            if top not in STDLIB and top not in ("torch", "models", "__future__"):
                bad.setdefault(path.name, []).append(name)
    assert not bad, f"models/ must import only torch and the standard library: {bad}"


def test_core_never_imports_widgets_or_ui():
    core = [
        p
        for p in (ROOT / "sketchpad").rglob("*.py")
        if "ui" not in p.relative_to(ROOT / "sketchpad").parts
    ]
    assert core
    bad = {}
    for path in core:
        for name in imports_of(path):
            if "QtWidgets" in name or name.startswith("sketchpad.ui") or name == "pyqtgraph":
                bad.setdefault(str(path.relative_to(ROOT)), []).append(name)
    # Entry points may open the UI lazily: the app itself, and the bench command's live loop.
    allowed = {
        "sketchpad/cli.py": {"sketchpad.ui.app", "sketchpad.ui.app.run_app"},
        "sketchpad/commands/bench.py": {
            "sketchpad.ui.bench_live",
            "sketchpad.ui.bench_live.live_loop_latency",
        },
    }
    for name, ok in allowed.items():
        if set(bad.get(name, ())) <= ok:
            bad.pop(name, None)
    assert not bad, f"sketchpad core must not import QtWidgets or the UI: {bad}"


def test_the_check_catches_a_violation(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("from PySide6.QtWidgets import QLabel\nimport numpy\n")
    assert "PySide6.QtWidgets" in imports_of(f) and "numpy" in imports_of(f)


def test_models_modules_import_each_other_without_cycles():
    """Every import among models/ is at module level, and they form no cycle: config.py is a
    leaf of dataclasses; build.py, which maps configs to networks, imports both sides."""
    graph: dict[str, set[str]] = {}
    deferred = []
    for path in (ROOT / "models").glob("*.py"):
        name = f"models.{path.stem}" if path.stem != "__init__" else "models"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = set(tree.body)
        graph[name] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                targets = [node.module or ""]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in (t for t in targets if t.startswith("models.")):
                graph[name].add(target)
                if node not in top_level:
                    deferred.append(f"{path.name}: {target}")
    assert not deferred, f"function-level imports among models/: {deferred}"

    def cycle_from(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        for imported in sorted(graph.get(module, ())):
            found = cycle_from(imported, [*path, module])
            if found:
                return found
        return None

    cycles = [c for m in sorted(graph) if (c := cycle_from(m, []))]
    assert not cycles, f"import cycle among models/: {' -> '.join(cycles[0])}"
