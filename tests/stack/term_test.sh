#!/usr/bin/env bash
# `make run` killed by TERM on its process group stops everything (issue: defect 6).
#
# Starts a second stack with `make run` on ports of its own (LAMBDA_PORT+20000, DYNAMODB_PORT+20000,
# SES_PORT+20000, or TERM_TEST_LAMBDA_PORT, TERM_TEST_DYNAMODB_PORT, TERM_TEST_SES_PORT), in a process group
# of its own (setsid), with no terminal and no standard input. Once its front door answers, it sends
# `kill -TERM -- -<pgid>` to that group, as a supervisor or CI does; a second case then also sends stack.sh the
# copy of that TERM that make passes on to it, 0.5 s later, as it arrives on a busy machine (during stack.sh's
# clean-up). Each case asserts that within TERM_TEST_STOP_SECONDS (15) none of the three ports listens (on any address) and no process is left: none of the group, none of the
# process groups that stack.sh started (its .pid files), and none whose environment names the test's LAMBDA_PORT
# (the functions that `cargo lambda watch` ran), and that stack.sh's clean-up ran to its end (it removes its .pid
# files and its owner file last). Whatever is left then is killed, so a failure leaves nothing.
# make test runs it last, beside its own stack; it also runs alone: bash tests/stack/term_test.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIND_HOST="${BIND_HOST:-127.0.0.1}"
T_LAMBDA="${TERM_TEST_LAMBDA_PORT:-$((${LAMBDA_PORT:-9000} + 20000))}"
T_DYNAMODB="${TERM_TEST_DYNAMODB_PORT:-$((${DYNAMODB_PORT:-8000} + 20000))}"
T_SES="${TERM_TEST_SES_PORT:-$((${SES_PORT:-8005} + 20000))}"
# moto (local SQS and EventBridge) follows DynamoDB Local's port: local/env.sh.
T_MOTO="$((T_DYNAMODB + 10))"
PORTS=("$T_LAMBDA" "$T_DYNAMODB" "$T_SES" "$T_MOTO")
STOP_SECONDS="${TERM_TEST_STOP_SECONDS:-15}"
START_SECONDS="${TERM_TEST_START_SECONDS:-900}"  # install check, warm build, DynamoDB Local, the first answer
STATE="$ROOT/.stack/$T_LAMBDA"                   # the test stack's STATE_DIR (local/env.sh)
LOG="$ROOT/.stack/term-test-$T_LAMBDA.log"

say() { echo "term_test: $*"; }
passed=0 failed=0
finish() {
  echo "term_test: $passed passed, $failed failed"
  exit $((failed > 0))
}

# The ports among PORTS that a socket listens on, on any address (IPv4 and IPv6).
listening() {
  local f local_addr state port want found=()
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    while read -r _ local_addr _ state _; do
      [ "$state" = 0A ] || continue
      port=$((16#${local_addr##*:}))
      for want in "${PORTS[@]}"; do [ "$port" = "$want" ] && found+=("$port"); done
    done < <(tail -n +2 "$f")
  done
  echo "${found[*]:-}"
}

# Every live process of the test stack: in one of the process groups GROUPS, or with LAMBDA_PORT=T_LAMBDA in its
# environment (everything stack.sh starts inherits it, the functions of `cargo lambda watch` too).
GROUPS_=()
stack_processes() {
  local pid pgid st g
  {
    ps -e -o pid=,pgid=,stat= | while read -r pid pgid st; do
      [[ "$st" == Z* ]] && continue  # a zombie has ended; only its parent's wait is missing
      for g in "${GROUPS_[@]}"; do
        if [ "$pgid" = "$g" ]; then echo "$pid"; fi
      done
    done
    grep -lszxF "LAMBDA_PORT=$T_LAMBDA" /proc/[0-9]*/environ | cut -d/ -f3
  } | sort -un
}

describe() { # PID...: one line each
  local pid
  for pid in "$@"; do
    echo "    $pid (group $(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')): $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-160)"
  done
}

kill_leftovers() {
  local pids g
  for g in "${GROUPS_[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
  mapfile -t pids < <(stack_processes)
  [ "${#pids[@]}" = 0 ] || kill -KILL "${pids[@]}" 2>/dev/null || true
  # What a clean-up cut short left behind: the next run on these ports would signal those (dead) process groups.
  rm -f "$STATE"/*.pid "$STATE/owner"
}
trap 'kill_leftovers' EXIT

ignore="$ROOT/.stack/term-test-$T_LAMBDA.watch-ignore"
now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000)); }

# One case: start `make run`, wait for its front door, TERM its process group (and, with LATE=1, TERM stack.sh
# once more 0.5 s later), then watch everything stop. Returns 0 when it did within STOP_SECONDS.
run_case() { # NAME LATE
  local name="$1" late="$2" make_pid pgid start stack_pid t0 elapsed ports files left before pidfile
  say "--- $name"
  # Not another stack's ports, nor the ports of a run that is still alive.
  ports="$(listening)"
  if [ -n "$ports" ]; then
    say "port(s) $ports already in use: move the test's stack with TERM_TEST_LAMBDA_PORT, TERM_TEST_DYNAMODB_PORT, TERM_TEST_SES_PORT"
    return 1
  fi
  mkdir -p "$ROOT/.stack"
  # `make run` as a user starts it, but with no terminal: its own session and process group, no standard input.
  # The environment of the stack that runs make test (its SMS outbox, its link base URL, its make) is not passed
  # on. The watch ignores edits to the tree during the test (as make load's does): a rebuild is not tested here.
  echo '*' >"$ignore"
  say "starting make run on ports ${PORTS[*]} (log: ${LOG#"$ROOT"/})"
  env -u SMS_OUTBOX -u PUBLIC_BASE_URL -u STATE_DIR -u LAMBDA_LOG -u LAMBDA_URL -u SES_URL \
      -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
      LAMBDA_PORT="$T_LAMBDA" DYNAMODB_PORT="$T_DYNAMODB" SES_PORT="$T_SES" BIND_HOST="$BIND_HOST" \
      CARGO_LAMBDA_IGNORE_FILE="$ignore" \
      setsid make -C "$ROOT" run </dev/null >"$LOG" 2>&1 &
  make_pid=$!
  GROUPS_=("$make_pid")
  # setsid made make the leader of a new process group: its group id is its pid.
  for _ in $(seq 1 50); do
    [ "$(ps -o pgid= -p "$make_pid" 2>/dev/null | tr -d ' ')" = "$make_pid" ] && break
    sleep 0.1
  done
  pgid="$(ps -o pgid= -p "$make_pid" | tr -d ' ')"
  [ "$pgid" = "$make_pid" ] || { say "make ($make_pid) is not the leader of its process group ($pgid)"; return 1; }

  # Until the front door answers an unsigned POST with 400: the whole stack is up.
  start=$SECONDS
  until [ "$(curl -s -o /dev/null -m 10 -w '%{http_code}' -X POST "http://$BIND_HOST:$T_LAMBDA/" || true)" = 400 ]; do
    if ! kill -0 "$make_pid" 2>/dev/null; then
      say "make run ended before its front door answered; the end of its log:"
      tail -n 30 "$LOG" | sed 's/^/    /'
      return 1
    fi
    if ((SECONDS - start > START_SECONDS)); then
      say "the front door on $T_LAMBDA did not answer within ${START_SECONDS}s; the end of the log:"
      tail -n 30 "$LOG" | sed 's/^/    /'
      return 1
    fi
    sleep 1
  done
  say "the front door answered after $((SECONDS - start))s"

  # The process groups that stack.sh started (DynamoDB Local, the SES emulator, cargo lambda watch, the relay).
  for pidfile in "$STATE"/*.pid; do
    [ -f "$pidfile" ] && GROUPS_+=("$(cat "$pidfile")")
  done
  stack_pid="$(cat "$STATE/owner")"
  mapfile -t before < <(stack_processes)
  say "${#before[@]} processes in the stack (stack.sh $stack_pid), groups ${GROUPS_[*]}; kill -TERM -- -$pgid"

  kill -TERM -- "-$pgid"
  t0="$(now_ms)"
  if [ "$late" = 1 ]; then
    # make passes the TERM it got on to stack.sh. On an idle machine that copy arrives with the group's own and
    # the two count as one; on a busy one it can arrive while stack.sh is already cleaning up.
    sleep "${TERM_TEST_LATE_SECONDS:-0.5}"
    say "kill -TERM $stack_pid (make's copy of the TERM, arriving during the clean-up)"
    kill -TERM "$stack_pid" 2>/dev/null || true
  fi
  while :; do
    ports="$(listening)"
    mapfile -t left < <(stack_processes)
    # stack.sh's clean-up ran to its end: it removes its .pid files and its owner file last.
    files="$(cd "$STATE" && ls -- *.pid owner 2>/dev/null | tr '\n' ' ' || true)"
    elapsed=$(($(now_ms) - t0))
    if [ -z "$ports" ] && [ "${#left[@]}" = 0 ] && [ -z "$files" ]; then
      say "everything stopped $((elapsed / 1000)).$((elapsed % 1000 / 100))s after the TERM: no port listens, no process is left, the clean-up ran to its end"
      return 0
    fi
    if ((elapsed > STOP_SECONDS * 1000)); then
      say "FAILED: ${STOP_SECONDS}s after kill -TERM -- -$pgid, port(s) still listening: '${ports}'; left in ${STATE#"$ROOT"/}: '${files}' (a clean-up cut short); ${#left[@]} process(es) left:"
      describe "${left[@]}"
      say "the end of make run's log:"
      tail -n 15 "$LOG" | sed 's/^/    /'
      kill_leftovers
      return 1
    fi
    sleep 0.2
  done
}

for spec in "the process group gets one TERM:0" "make's copy of the TERM reaches stack.sh during its clean-up:1"; do
  if run_case "${spec%:*}" "${spec##*:}"; then passed=$((passed + 1)); else failed=$((failed + 1)); kill_leftovers; fi
done
finish
