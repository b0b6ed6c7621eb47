#!/usr/bin/env bash
# Builds the Debian package target/debian/vadscope_<version>-1_<arch>.deb with
# cargo-deb (`cargo install cargo-deb`), from the metadata in Cargo.toml.
#
#   bash packaging/deb.sh                  # release build, then package it
#   bash packaging/deb.sh --profile dev    # package the dev-profile build (CI: the
#                                          # binary `cargo test` already built)
#   bash packaging/deb.sh --no-build       # package what is already built
#
# The man pages and shell completions are written by the built binary itself
# (`vadscope manpages`, `vadscope completions`), so they match its flags.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
build=1
while (($#)); do
  case "$1" in
    --profile) profile="${2:?--profile needs a name: release or dev}"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deb.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if ! cargo deb --version >/dev/null 2>&1; then
  echo "deb.sh: cargo-deb is missing; install it with: cargo install cargo-deb --locked" >&2
  exit 1
fi

# Cargo's folder for a profile: dev builds land in target/debug.
dir="$profile"
[ "$profile" = dev ] && dir=debug
target="${CARGO_TARGET_DIR:-target}"
bin="$target/$dir/vadscope"

if ((build)); then
  cargo build --locked --profile "$profile" --bin vadscope
fi
if [ ! -x "$bin" ]; then
  echo "deb.sh: $bin is missing; build it first, or drop --no-build" >&2
  exit 1
fi

out="$target/packaging"
rm -rf "$out"
mkdir -p "$out/man" "$out/completions"
"$bin" manpages "$out/man"
gzip -9n "$out/man"/*.1
"$bin" completions bash >"$out/completions/vadscope.bash"
"$bin" completions zsh >"$out/completions/_vadscope"
"$bin" completions fish >"$out/completions/vadscope.fish"

# --no-build: the binary above is the one packaged. --strip: the dev and release
# profiles keep line tables, which a package does not ship.
cargo deb --no-build --profile "$profile" --strip --no-dbgsym --output "$target/debian"
