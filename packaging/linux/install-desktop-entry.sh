#!/bin/sh
# Puts Sketchpad in this user's application menu: the launcher goes to
# ~/.local/share/applications, the icon to ~/.local/share/icons. Run it from the unpacked
# sketchpad/ folder (again after moving the folder); `--uninstall` takes both away.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
apps=$data/applications
icons=$data/icons/hicolor/256x256/apps

if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$apps/sketchpad.desktop" "$icons/sketchpad.png"
  echo "removed $apps/sketchpad.desktop and $icons/sketchpad.png"
  exit 0
fi

mkdir -p "$apps" "$icons"
cp "$here/_internal/assets/icons/sketchpad.png" "$icons/sketchpad.png"
# Exec takes the executable's full path, quoted and escaped as the Desktop Entry spec asks.
exec_path=$(printf '%s' "$here/sketchpad" | sed 's/[\\"`$]/\\\\&/g')
while IFS= read -r line; do
  case $line in
    Exec=*) printf 'Exec="%s"\n' "$exec_path" ;;
    *) printf '%s\n' "$line" ;;
  esac
done <"$here/sketchpad.desktop" >"$apps/sketchpad.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "installed $apps/sketchpad.desktop (runs $here/sketchpad)"
