#!/usr/bin/env bash
# Builds the desktop bundle dist/sketchpad/ with build.spec (PyInstaller, one folder) and, on
# Linux, archives it as dist/sketchpad-VERSION-linux-ARCH.tar.gz (symbolic links kept) with the
# .desktop launcher and its installer beside the executable. Prints the build time and sizes.
#
#   scripts/build_bundle.sh                 # the Python of .venv/ if there is one, else python3
#   PYTHON=path/to/python scripts/build_bundle.sh --no-archive
#
# That Python needs the app's dependencies and PyInstaller (pip install pyinstaller==6.22.3).
set -euo pipefail
cd "$(dirname "$0")/.."

archive=1
for arg in "$@"; do
  case $arg in
    --no-archive) archive=0 ;;
    *) echo "usage: $0 [--no-archive]" >&2; exit 2 ;;
  esac
done

python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi
if ! "$python" -m PyInstaller --version >/dev/null 2>&1; then
  echo "PyInstaller is missing: $python -m pip install pyinstaller==6.22.3" >&2
  exit 1
fi
if [ ! -f assets/default/model.safetensors ]; then
  echo "warning: assets/default/model.safetensors is missing: the bundle gets no default model" >&2
fi

start=$(date +%s)
"$python" -m PyInstaller --noconfirm --log-level WARN build.spec
seconds=$(($(date +%s) - start))
echo "built dist/sketchpad in ${seconds} s: $(du -sh dist/sketchpad | cut -f1)"

if [ "$(uname -s)" = Linux ]; then
  cp packaging/linux/sketchpad.desktop packaging/linux/install-desktop-entry.sh dist/sketchpad/
  if [ "$archive" = 1 ]; then
    version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' sketchpad/__init__.py)
    name=sketchpad-$version-linux-$(uname -m).tar.gz
    tar -C dist -czf "dist/$name" sketchpad # tar stores symbolic links as links
    echo "archived dist/$name: $(du -h "dist/$name" | cut -f1)"
  fi
fi
