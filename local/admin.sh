#!/usr/bin/env bash
# make mail-stops (and the other operator commands): with --table (make webhooks: --queue-url), against that deployed table (AWS
# credentials and region from the environment); without it, against the local stack's table (local/env.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="$1"; shift
case " $* " in
  *" --table "* | *" --queue-url "*) ;;
  *) source local/env.sh ;;
esac
exec cargo run --quiet -p adapters --bin "$bin" -- "$@"
