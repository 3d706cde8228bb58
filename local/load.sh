#!/usr/bin/env bash
# make load: starts a local stack of its own (own ports), warms every function, drives it with Locust for
# LOAD_SECONDS (headless), audits the table, the SES emulator and the SMS outbox against what Locust was told
# (tests/load/audit.py), writes the marked section of BENCHMARKS.md, and always stops the stack.
#   LOAD_SECONDS=240 LOAD_USERS=50 LOAD_CALLERS=50 LOAD_SPAWN_RATE=10
#   LOAD_MIN_REQUESTS (default 25 a second of LOAD_SECONDS: 6000 for 240 s) requests of the per-action mix
#   LOAD_MAX_REQUESTS=200000 (Locust also stops after that many requests)
#   The front door, beside the per-action mix: LOAD_FLOOD_MAX=20000 unsigned requests at most from one client,
#   LOAD_FLOOD_RATE=50 a second at most (0: no wait), the first LOAD_FLOOD_SOLO=300 of them alone (the
#   flood-only window); LOAD_TENANTS=4 signed tenants (the key pairs of ACCESS_KEYS). 0 turns a part off.
#   LAMBDA_PORT=29500 DYNAMODB_PORT=28500 SES_PORT=28505   (not the ports of `make run`)
# Traffic goes only to BIND_HOST (127.0.0.1). Results and logs: .stack/<LAMBDA_PORT>/load/.
set -euo pipefail
export LAMBDA_PORT="${LAMBDA_PORT:-29500}" DYNAMODB_PORT="${DYNAMODB_PORT:-28500}" SES_PORT="${SES_PORT:-28505}"
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT_DIR"

LOAD_SECONDS="${LOAD_SECONDS:-240}"
LOAD_USERS="${LOAD_USERS:-50}"
LOAD_CALLERS="${LOAD_CALLERS:-50}"
LOAD_SPAWN_RATE="${LOAD_SPAWN_RATE:-10}"
# The per-action mix shares the 2 cores with the front door's flood and tenants (and with whatever else runs on
# the machine): 25 requests a second of the run is the floor, for any LOAD_SECONDS.
LOAD_MIN_REQUESTS="${LOAD_MIN_REQUESTS:-$((LOAD_SECONDS * 25))}"
LOAD_FLOOD_MAX="${LOAD_FLOOD_MAX:-20000}"
LOAD_FLOOD_RATE="${LOAD_FLOOD_RATE:-50}"
LOAD_FLOOD_SOLO="${LOAD_FLOOD_SOLO:-300}"
LOAD_TENANTS="${LOAD_TENANTS:-4}"
LOAD_MAX_REQUESTS="${LOAD_MAX_REQUESTS:-200000}"
LOAD_STACK_TIMEOUT="${LOAD_STACK_TIMEOUT:-1800}"   # seconds for the stack's build and start
LOAD_WARM_TIMEOUT="${LOAD_WARM_TIMEOUT:-2400}"     # seconds for every function's first answer
LOAD_BENCHMARKS="${LOAD_BENCHMARKS:-$ROOT_DIR/BENCHMARKS.md}"
case "$BIND_HOST" in
  127.*|localhost|::1) ;;
  *) echo "load.sh: BIND_HOST=$BIND_HOST: the load goes only to the loopback address" >&2; exit 2 ;;
esac

listening() { (exec 3<>"/dev/tcp/$BIND_HOST/$1") 2>/dev/null; }

# Another stack (or load) on these ports: refuse before touching anything of it.
other="$(cat "$STATE_DIR/owner" 2>/dev/null || true)"
if [ -n "$other" ] && kill -0 "$other" 2>/dev/null && tr '\0' ' ' <"/proc/$other/cmdline" 2>/dev/null | grep -q stack.sh; then
  echo "load.sh: a stack is already running on these ports (process $other); move the load's with LAMBDA_PORT, DYNAMODB_PORT, SES_PORT" >&2
  exit 1
fi
for port in "$LAMBDA_PORT" "$DYNAMODB_PORT" "$SES_PORT"; do
  if listening "$port"; then
    echo "load.sh: port $port is in use; move the load's stack with LAMBDA_PORT, DYNAMODB_PORT, SES_PORT" >&2
    exit 1
  fi
done

WITH_LOAD_TOOL=1 bash local/install.sh
OUT="$STATE_DIR/load"
rm -rf "$OUT"
mkdir -p "$OUT"

# The stack's environment for this run: no send pacing (the local SES emulator throttles nothing), and the watch
# ignores edits to the tree (others may edit it during the run; a reload would restart the functions mid-load).
export MAX_SEND_RATE=100000
echo '*' >"$OUT/watch-ignore"
# DynamoDB Local logs every request it answers (time, operation, status; local/DynamoDBLocalOnHost.java): the
# audit counts the DynamoDB requests of the flood-only window with it.
export DYNAMODB_REQUEST_LOG="$OUT/dynamodb-requests.log"
export CARGO_LAMBDA_IGNORE_FILE="$OUT/watch-ignore"

stack_pid=""
stack_owned=0   # 1 once the stack.sh started here owns these ports (.stack/<LAMBDA_PORT>/owner)
stop_stack() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$stack_pid" ]; then
    echo "==> load: stopping the stack (process group $stack_pid)"
    kill -TERM -- "-$stack_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$stack_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$stack_pid" 2>/dev/null || true
  fi
  # What our stack, if it could not stop itself, left behind: its process groups, by the ids it wrote down.
  # Only when the stack on these ports is ours (owner): never another run's.
  if [ -n "$stack_pid" ] && [ "$(cat "$STATE_DIR/owner" 2>/dev/null || echo "$stack_pid")" = "$stack_pid" ] \
     && [ "$stack_owned" = 1 ]; then
    for pidfile in "$STATE_DIR"/*.pid; do
      [ -f "$pidfile" ] || continue
      kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null || true
      sleep 1
      kill -KILL -- "-$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    done
    rm -f "$STATE_DIR/owner"
  fi
  [ "$stack_owned" = 1 ] || exit "$rc"
  local port left=""
  for port in "$LAMBDA_PORT" "$DYNAMODB_PORT" "$SES_PORT"; do
    for _ in $(seq 1 50); do listening "$port" || break; sleep 0.2; done
    listening "$port" && left="$left $port"
  done
  if [ -n "$left" ]; then
    echo "load.sh: still listening after the stop:$left" >&2
    [ "$rc" = 0 ] && rc=1
  fi
  exit "$rc"
}
trap stop_stack EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The code the stack is built from: this commit, and whether the tree had changes beyond it (BENCHMARKS.md is
# only written to).
commit="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
# Uncommitted changes that the stack was built from (BENCHMARKS.md is only written to).
git diff --quiet HEAD -- . ':(exclude)BENCHMARKS.md' 2>/dev/null \
  && [ -z "$(git ls-files --others --exclude-standard -- shared functions Cargo.toml Cargo.lock)" ] \
  || commit="$commit (with uncommitted changes in the tree)"
# The functions to warm: the action table's (api/src/actions/mod.rs), read before the stack builds them.
mapfile -t warm < <(cargo run --quiet -p stack-tests --bin actions -- functions)
[ "${#warm[@]}" -gt 0 ] || { echo "load.sh: cannot read the action table (cargo run -p stack-tests --bin actions)" >&2; exit 1; }
echo "==> load: starting the stack on $BIND_HOST:$LAMBDA_PORT (DynamoDB $DYNAMODB_PORT, SES $SES_PORT); its output: $OUT/stack.out"
setsid bash local/stack.sh run </dev/null >"$OUT/stack.out" 2>&1 &
stack_pid=$!

waited=0
until listening "$LAMBDA_PORT" && grep -q '^Ready\.' "$OUT/stack.out"; do
  [ "$(cat "$STATE_DIR/owner" 2>/dev/null)" = "$stack_pid" ] && stack_owned=1
  if ! kill -0 "$stack_pid" 2>/dev/null; then
    echo "load.sh: the stack stopped before it was ready; its output:" >&2
    tail -n 40 "$OUT/stack.out" >&2
    exit 1
  fi
  if [ "$waited" -ge "$LOAD_STACK_TIMEOUT" ]; then
    echo "load.sh: the stack was not ready within ${LOAD_STACK_TIMEOUT}s; its output:" >&2
    tail -n 40 "$OUT/stack.out" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
stack_owned=1

# Warm every function before the clock starts: the first request may wait for its start (a long timeout),
# then 8 at once per function, so that the watch has started its instances (--concurrency 8). The functions are
# the action table's (api/src/actions/mod.rs), and each is asked with PUT, a method no action takes: the
# function answers 404 without running its action, so the warm-up changes nothing.
echo "==> load: warming every function"
warm_one() { # FUNCTION TIMEOUT
  curl -s -o /dev/null -w '%{http_code}' -m "$2" -X PUT -H 'X-User-Id: warmup' "$LAMBDA_URL/$1/"
}
# Starting an instance is a `cargo run`, which waits for the locks of the shared target directory and package
# cache while others build: ask again (a request that changes nothing) until LOAD_WARM_TIMEOUT.
warm_deadline=$((SECONDS + LOAD_WARM_TIMEOUT))
for w in "${warm[@]}"; do
  until code="$(warm_one "$w" 300 || true)"; [[ "$code" == [24]* ]]; do
    if [ "$SECONDS" -ge "$warm_deadline" ] || ! kill -0 "$stack_pid" 2>/dev/null; then
      echo "load.sh: warming $w answered '$code'; no answer within LOAD_WARM_TIMEOUT=${LOAD_WARM_TIMEOUT}s" >&2
      exit 1
    fi
    echo "    $w not started yet ('$code'), asking again"
  done
done
warming=()
for w in "${warm[@]}"; do
  for _ in 1 2 3 4 5 6 7 8; do warm_one "$w" 600 >/dev/null & warming+=("$!"); done
done
wait "${warming[@]}" || true

# The front door's users come on top of the mix's: one flooding client and the signed tenants (fixed counts).
door_users=$(( (LOAD_FLOOD_MAX > 0 ? 1 : 0) + LOAD_TENANTS ))
echo "==> load: Locust, $LOAD_USERS users over $LOAD_CALLERS callers for ${LOAD_SECONDS}s against http://$BIND_HOST:$LAMBDA_PORT; at the front door an unsigned flood (at most $LOAD_FLOOD_MAX requests, $LOAD_FLOOD_RATE/s) and $LOAD_TENANTS signed tenants"
locust_version="$("$VENV_DIR/bin/python" -c 'from importlib.metadata import version; print(version("locust"))')"
set +e
LOAD_OUT="$OUT" LOAD_CALLERS="$LOAD_CALLERS" LOAD_MAX_REQUESTS="$LOAD_MAX_REQUESTS" LOAD_FLOOD_MAX="$LOAD_FLOOD_MAX" \
  LOAD_FLOOD_RATE="$LOAD_FLOOD_RATE" LOAD_FLOOD_SOLO="$LOAD_FLOOD_SOLO" LOAD_TENANTS="$LOAD_TENANTS" \
  PYTHONDONTWRITEBYTECODE=1 "$VENV_DIR/bin/locust" \
  -f tests/load/locustfile.py --headless --only-summary --loglevel WARNING \
  --host "http://$BIND_HOST:$LAMBDA_PORT" -u "$((LOAD_USERS + door_users))" -r "$LOAD_SPAWN_RATE" -t "${LOAD_SECONDS}s" \
  --stop-timeout 120 --csv "$OUT/locust" --exit-code-on-error 0 2>&1 | tee "$OUT/locust.out"
locust_rc=${PIPESTATUS[0]}
set -e
if [ "$locust_rc" != 0 ] || [ ! -s "$OUT/journal.json" ]; then
  echo "load.sh: Locust failed (exit $locust_rc) or wrote no journal" >&2
  exit 1
fi

echo "==> load: audit"
PYTHONDONTWRITEBYTECODE=1 "$VENV_DIR/bin/python" tests/load/audit.py --out "$OUT" \
  --benchmarks "$LOAD_BENCHMARKS" --min-requests "$LOAD_MIN_REQUESTS" --lambda-log "$STATE_DIR/lambda.log" \
  --dynamodb-log "$DYNAMODB_REQUEST_LOG" \
  --command "make load   # = bash local/load.sh; LOAD_SECONDS=$LOAD_SECONDS LOAD_USERS=$LOAD_USERS LOAD_CALLERS=$LOAD_CALLERS LOAD_MIN_REQUESTS=$LOAD_MIN_REQUESTS LOAD_FLOOD_MAX=$LOAD_FLOOD_MAX LOAD_FLOOD_RATE=$LOAD_FLOOD_RATE LOAD_FLOOD_SOLO=$LOAD_FLOOD_SOLO LOAD_TENANTS=$LOAD_TENANTS" \
  --commit "$commit" --seconds "$LOAD_SECONDS" --spawn-rate "$LOAD_SPAWN_RATE" \
  --ports "Lambda $LAMBDA_PORT, DynamoDB $DYNAMODB_PORT, SES $SES_PORT" --locust-version "$locust_version"
