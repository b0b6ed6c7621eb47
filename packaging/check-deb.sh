#!/usr/bin/env bash
# Checks a built vadscope .deb the way a user meets it (CI runs this after
# packaging/deb.sh): lintian, install with apt-get, run the installed program,
# find its man page, completions, menu entry and icon, start the menu's
# command under Xvfb and find its window by the desktop file's
# StartupWMClass, then remove the package. Needs root (CI is root).
#
#   bash packaging/check-deb.sh [target/debian/vadscope_*.deb]
set -euo pipefail
cd "$(dirname "$0")/.."

deb="${1:-}"
if [ -z "$deb" ]; then
  debs=(target/debian/vadscope_*.deb)
  deb="${debs[-1]}"
fi
[ -f "$deb" ] || { echo "check-deb: no package at '$deb'; run packaging/deb.sh first" >&2; exit 1; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
fail() { echo "check-deb: $*" >&2; exit 1; }

echo "== dpkg-deb --info $deb"
dpkg-deb --info "$deb"
echo "== dpkg-deb --contents"
contents="$(dpkg-deb --contents "$deb" | awk '{print $6}')"
echo "$contents"
for path in ./usr/bin/vadscope \
  ./usr/share/applications/io.github.vadscope.Vadscope.desktop \
  ./usr/share/metainfo/io.github.vadscope.Vadscope.metainfo.xml \
  ./usr/share/icons/hicolor/scalable/apps/io.github.vadscope.Vadscope.svg \
  ./usr/share/icons/hicolor/256x256/apps/io.github.vadscope.Vadscope.png \
  ./usr/share/man/man1/vadscope.1.gz ./usr/share/man/man1/vadscope-train.1.gz \
  ./usr/share/bash-completion/completions/vadscope \
  ./usr/share/zsh/vendor-completions/_vadscope \
  ./usr/share/fish/vendor_completions.d/vadscope.fish \
  ./usr/share/doc/vadscope/copyright ./usr/share/doc/vadscope/changelog.Debian.gz; do
  grep -qxF "$path" <<<"$contents" || fail "$deb lacks $path"
done

if command -v lintian >/dev/null; then
  echo "== lintian (errors fail)"
  lintian --fail-on error --display-level '>=warning' "$deb"
else
  echo "== lintian not installed: skipped"
fi

echo "== apt-get install $deb"
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "./${deb#./}"
trap 'echo "== apt-get remove vadscope"; DEBIAN_FRONTEND=noninteractive $sudo apt-get remove -y -qq vadscope' EXIT

echo "== installed program"
[ "$(command -v vadscope)" = /usr/bin/vadscope ] || fail "vadscope on PATH is $(command -v vadscope), not /usr/bin/vadscope"
version="$(/usr/bin/vadscope --version)" || fail "--version failed"
printf '%s\n' "$version"
printf '%s\n' "$version" | grep -q '^features: .*gui' || fail "--version does not name the gui feature"
home="$(mktemp -d)"
# Captured whole, not piped into `grep -q`: grep exits at the first match and
# the program's next line then meets a closed pipe.
demo="$(HOME="$home" XDG_CACHE_HOME="$home/.cache" /usr/bin/vadscope demo --text)" \
  || fail "demo --text failed"
printf '%s\n' "$demo" | tail -n 3
printf '%s\n' "$demo" | grep -q 'frame-level AUC' || fail "demo --text printed no AUC"

echo "== man page and completions"
if command -v man >/dev/null; then
  [ "$(man -w vadscope)" = /usr/share/man/man1/vadscope.1.gz ] || fail "man -w vadscope: $(man -w vadscope)"
  MANWIDTH=80 man vadscope-train 2>/dev/null | grep -q -- '--flow-preset' || fail "man vadscope-train lacks --flow-preset"
fi
if [ -f /usr/share/bash-completion/bash_completion ]; then
  bash -c 'source /usr/share/bash-completion/bash_completion
           _completion_loader vadscope; complete -p vadscope' | grep -q vadscope \
    || fail "bash does not load the vadscope completion"
else
  bash -c 'source /usr/share/bash-completion/completions/vadscope; complete -p vadscope' | grep -q vadscope \
    || fail "the bash completion script does not register vadscope"
fi
grep -q '^#compdef vadscope' /usr/share/zsh/vendor-completions/_vadscope || fail "zsh completion lacks #compdef"
grep -q 'complete -c vadscope' /usr/share/fish/vendor_completions.d/vadscope.fish || fail "fish completion is empty"

echo "== menu entry"
desktop=/usr/share/applications/io.github.vadscope.Vadscope.desktop
command -v desktop-file-validate >/dev/null && desktop-file-validate "$desktop"
exec_line="$(sed -n 's/^Exec=//p' "$desktop" | sed 's/ %[fFuU]//')"
wm_class="$(sed -n 's/^StartupWMClass=//p' "$desktop")"
icon="$(sed -n 's/^Icon=//p' "$desktop")"
[ -f "/usr/share/icons/hicolor/scalable/apps/$icon.svg" ] || fail "icon $icon is not installed"

if command -v Xvfb >/dev/null && command -v xdotool >/dev/null; then
  echo "== the menu's command under Xvfb: $exec_line (window class $wm_class)"
  display=":$((90 + RANDOM % 9))"
  Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 &
  xvfb=$!
  sleep 1
  # The app's state (window size, last file) goes to a throwaway home.
  (cd "$home" && HOME="$home" XDG_CACHE_HOME="$home/.cache" XDG_DATA_HOME="$home/.local/share" \
    DISPLAY="$display" WAYLAND_DISPLAY= $exec_line >"$home/app.log" 2>&1) &
  app=$!
  found=""
  for _ in $(seq 1 60); do
    if DISPLAY="$display" xdotool search --class "$wm_class" >/dev/null 2>&1; then found=1; break; fi
    kill -0 "$app" 2>/dev/null || break
    sleep 1
  done
  kill "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  if [ -z "$found" ]; then
    cat "$home/app.log" >&2
    fail "'$exec_line' opened no window of class $wm_class within 60 s"
  fi
  echo "window of class $wm_class is up"
fi
rm -rf "$home"
echo "== the package works"
