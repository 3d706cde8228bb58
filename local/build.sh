#!/usr/bin/env bash
# Builds every function's Lambda zip with cargo-lambda and the workspace's release profile:
# target/lambda/<function>/bootstrap.zip, plus the baselines of `make bench`: target/lambda/hello/bootstrap.zip
# (hello-world) and target/lambda/hello-templates/bootstrap.zip (hello-world with the template engine).
# target/lambda/BUILD records the architecture and the commands, for BENCHMARKS.md.
#   local/build.sh [arm64]   for arm64 (Graviton, what template.yaml deploys): `make build`
#   local/build.sh x86_64    for x86_64
# arm64 needs the Rust target aarch64-unknown-linux-gnu; it is added with rustup when missing. If that
# cannot be done (no rustup, or its download is unreachable) the script stops with exit status 3 and says
# so; `make bench` then measures x86_64 zips instead and says which architecture it measured.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT_DIR"
arch="${1:-arm64}"

case "$arch" in
  arm64)  target=aarch64-unknown-linux-gnu; flag=--arm64 ;;
  x86_64) target=x86_64-unknown-linux-gnu;  flag=--x86-64 ;;
  *) echo "usage: local/build.sh [arm64|x86_64]" >&2; exit 2 ;;
esac

bash local/install.sh

if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  echo "==> adding the Rust target $target (rustup target add $target)"
  if ! command -v rustup >/dev/null 2>&1 || ! rustup target add "$target"; then
    cat >&2 <<MSG
build.sh: the Rust target $target is not installed and could not be added.
  It is needed to build the functions for $arch. Install it with:
      rustup target add $target
  (rustup downloads it from static.rust-lang.org). Or build for x86_64: bash local/build.sh x86_64
MSG
    exit 3
  fi
fi

packages=()
for dir in functions/*/; do
  [ -f "$dir/Cargo.toml" ] && packages+=(-p "$(basename "$dir")")
done

commands=(
  "cargo lambda build --release $flag --output-format zip ${packages[*]}"
  "cargo lambda build --release $flag --output-format zip -p bench --bin hello --bin hello-templates"
)
for c in "${commands[@]}"; do
  echo "==> $c"
  $c
done

mkdir -p target/lambda
{ echo "arch=$arch"; printf '%s\n' "${commands[@]}"; } > target/lambda/BUILD
echo "==> zips ($arch):"
for dir in functions/*/; do
  name="$(basename "$dir")"
  [ -f "$dir/Cargo.toml" ] || continue
  printf '    %-36s %9s bytes\n' "$name" "$(stat -c %s "target/lambda/$name/bootstrap.zip")"
done
