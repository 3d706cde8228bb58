#!/usr/bin/env bash
# make check: the fast gate, with no stack. Run it before every commit; make test runs it first.
#   - cargo fmt --check (rustfmt.toml states the width);
#   - cargo clippy on every crate and target, warnings as errors;
#   - the domain names no AWS, Lambda or HTTP crate (cargo tree);
#   - the tests that need no stack: every crate's unit tests, the property tests, and the tests of
#     tests/ that read only the repository (layers and import cycles; the template against the table).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi
start=$SECONDS
echo "==> cargo fmt --all --check"
cargo fmt --all --check
echo "==> cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --quiet --workspace --all-targets -- -D warnings
echo "==> cargo tree -p shared -e normal: no aws-*, lambda_*, hyper or http"
if cargo tree -p shared -e normal --prefix none | grep -E '^(aws-|lambda_|lambda-|hyper|http |http-)'; then
  echo "check: the domain crate depends on the crates above; it must not" >&2
  exit 1
fi
echo "==> cargo test (no stack): shared, api, adapters, edge, bench; tests/tests/layers.rs and generated.rs"
cargo test --quiet -p shared -p api -p adapters -p edge -p bench
cargo test --quiet -p stack-tests --test layers --test generated
echo "==> make check passed in $((SECONDS - start)) s"
