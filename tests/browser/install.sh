#!/usr/bin/env bash
# Installs what the browser check of rendered mails (tests/browser/check_mail.mjs) needs. Idempotent and quiet:
# a second run prints nothing and does nothing.
#   - the system's Chromium (/usr/bin/chromium) and CJK fonts (fonts-noto-cjk), from apt: playwright-core drives
#     that Chromium and never downloads a browser of its own;
#   - playwright-core into .tools/browser (git-ignored): `npm ci` of tests/browser/package-lock.json, unless that
#     lock is installed already (the same way local/install.sh installs sdk-node into .tools/sdk-node).
# Usage: bash tests/browser/install.sh
set -euo pipefail
ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC_DIR="$ROOT_DIR/tests/browser"
BROWSER_TOOLS_DIR="${BROWSER_TOOLS_DIR:-$ROOT_DIR/.tools/browser}"   # check_mail.mjs reads the same variable
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"                            # check_mail.mjs reads the same variable
APT_PACKAGES=(chromium fonts-noto-cjk)

need() { command -v "$1" >/dev/null 2>&1 || { echo "tests/browser/install.sh: '$1' is required but not on PATH ($2)" >&2; exit 1; }; }
need node "Node.js runs tests/browser/check_mail.mjs"
need npm "npm installs playwright-core"

# The system's Chromium and a CJK font (the zh mails must be drawn in one, not in boxes).
missing=()
[ -x "$CHROMIUM" ] || missing+=("$CHROMIUM (Debian package chromium)")
# (grep without -q: under pipefail, grep -q quitting early makes fc-list die of SIGPIPE and the test fail.)
{ command -v fc-list >/dev/null 2>&1 && fc-list | grep -i "Noto Sans CJK" >/dev/null; } \
  || missing+=("the font Noto Sans CJK (Debian package fonts-noto-cjk)")
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing ${APT_PACKAGES[*]} with apt-get (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    # An image whose package lists were cleaned finds nothing: update them once and try again.
    apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null \
      || { apt-get update -qq && apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null; }
  else
    echo "tests/browser/install.sh: missing: ${missing[*]}" >&2
    echo "  install them with: sudo apt-get install -y --no-install-recommends ${APT_PACKAGES[*]}" >&2
    exit 1
  fi
  [ -x "$CHROMIUM" ] || { echo "tests/browser/install.sh: still no $CHROMIUM after apt-get" >&2; exit 1; }
fi

# playwright-core into $BROWSER_TOOLS_DIR, exactly as tests/browser/package-lock.json says.
pin="$(node -p 'require(process.argv[1]).dependencies["playwright-core"]' "$SRC_DIR/package.json")"
installed="$(node -p 'require(process.argv[1]).version' "$BROWSER_TOOLS_DIR/node_modules/playwright-core/package.json" 2>/dev/null || true)"
if [ "$installed" != "$pin" ] || ! cmp -s "$SRC_DIR/package-lock.json" "$BROWSER_TOOLS_DIR/package-lock.json"; then
  echo "==> installing playwright-core $pin (tests/browser/package-lock.json) into $BROWSER_TOOLS_DIR"
  rm -rf "$BROWSER_TOOLS_DIR"
  mkdir -p "$BROWSER_TOOLS_DIR"
  cp "$SRC_DIR/package.json" "$SRC_DIR/package-lock.json" "$BROWSER_TOOLS_DIR/"
  npm ci --prefix "$BROWSER_TOOLS_DIR" --no-audit --no-fund --loglevel=error >/dev/null
fi
