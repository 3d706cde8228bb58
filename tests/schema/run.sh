#!/usr/bin/env bash
# The schema gate (make test runs it after cargo test and pytest tests/sdk; tests/schema/README.md):
#   1. docs/openapi.yaml is a valid OpenAPI 3.1 document (openapi-spec-validator);
#   2. schemathesis calls every operation of it on the running local stack, with a fixed seed and a bounded
#      number of examples, and fails on any server error, undocumented status code or content type, missing
#      documented header, or answer that breaks its schema.
# Against a running `make run` (any ports: they come from local/env.sh): bash tests/schema/run.sh
# Knobs: SCHEMA_SEED, SCHEMA_MAX_EXAMPLES, SCHEMA_PHASES, SCHEMA_ARGS (more schemathesis options).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../local/env.sh"
cd "$ROOT_DIR"

seed="${SCHEMA_SEED:-20261129}"
max_examples="${SCHEMA_MAX_EXAMPLES:-100}"
phases="${SCHEMA_PHASES:-examples,coverage,fuzzing}"
checks="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,tencent_envelope"
st="$SCHEMA_VENV_DIR/bin/st"
[ -x "$st" ] || { echo "tests/schema/run.sh: $st is missing; run: make install" >&2; exit 1; }

# Only the local stack, which sends mail only to the local SES emulator and texts only to the outbox file.
host="$BIND_HOST"
case "$host" in 0.0.0.0|"") host=127.0.0.1 ;; ::|"[::]") host=::1 ;; esac
case "$host" in \[*) ;; *:*) host="[$host]" ;; esac
loopback() { case "$1" in 127.*|localhost|"[::1]"|::1) return 0 ;; *) return 1 ;; esac; }
ses_host="${AWS_ENDPOINT_URL_SESV2#http://}"; ses_host="${ses_host%:*}"
if ! loopback "$host" || ! loopback "$ses_host"; then
  echo "tests/schema/run.sh: refusing to run: the stack ($host) and its SES endpoint ($ses_host) must be on this machine" >&2
  exit 1
fi
base="http://$host:$LAMBDA_PORT"

echo "==> openapi-spec-validator docs/openapi.yaml"
"$SCHEMA_VENV_DIR/bin/openapi-spec-validator" docs/openapi.yaml

# The functions and the Tencent-style actions, read off the action table (api/src/actions/mod.rs).
functions="$(cargo run --quiet -p stack-tests --bin actions -- functions)" \
  || { echo "tests/schema/run.sh: cannot read the action table (cargo run -p stack-tests --bin actions)" >&2; exit 1; }
SCHEMA_TENCENT_ACTIONS="$(cargo run --quiet -p stack-tests --bin actions -- tencent | tr '\n' ' ')"
export SCHEMA_TENCENT_ACTIONS   # for hooks.py

# cargo lambda watch builds a function on its first request, which can take minutes on a cold cache: one
# request each first, with a long timeout, so that schemathesis' own timeout measures the service only (a GET,
# which a function whose action takes POST only answers 404 without running the action).
for fn in $functions; do
  curl -s -o /dev/null -m 900 -H 'X-User-Id: schema-warm-up' "$base/lambda-url/$fn/" \
    || { echo "tests/schema/run.sh: $base/lambda-url/$fn/ does not answer" >&2; exit 1; }
done
curl -s -o /dev/null -m 900 "$base/" || { echo "tests/schema/run.sh: $base/ does not answer" >&2; exit 1; }

# Nothing is written into the repository (tests/ is a crate that cargo lambda watch watches): schemathesis and
# Hypothesis run in a temporary directory, without an example database and without bytecode; the reports
# (JUnit XML and a HAR of every request and answer) go to the stack's state directory (.stack/, git-ignored).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
report_dir="$STATE_DIR/schemathesis"
rm -rf "$report_dir"
mkdir -p "$report_dir"

schemathesis() {
  # shellcheck disable=SC2086 # SCHEMA_ARGS holds several options
  PYTHONDONTWRITEBYTECODE=1 HYPOTHESIS_STORAGE_DIRECTORY="$work/.hypothesis" \
  SCHEMATHESIS_HOOKS="$ROOT_DIR/tests/schema/hooks.py" \
    "$st" run "$ROOT_DIR/docs/openapi.yaml" \
      --url "$base" \
      --checks "$checks" \
      --seed "$seed" \
      --max-examples "$max_examples" \
      --phases "$phases" \
      --generation-database none \
      --workers 1 \
      --request-timeout 60 \
      --max-redirects 0 \
      --no-color \
      --report junit,har --report-dir "$report_dir" \
      ${SCHEMA_ARGS:-}
}

# Failures that only cargo lambda watch made: every failing case is a 500 whose body is the emulator's own problem
# document ({"type":"https://httpstatuses.com/500",...}; the service's errors always carry RequestId and Code),
# flagged as a server error (ST101) and for its text/plain type (ST105). The local emulator loses a large answer
# now and then under concurrent load, after the function sent it (README.md here, "The emulator's lost answers");
# that says nothing about the service, so such a run is run once more, whole, and the second run decides.
only_emulator_failures() {
  "$SCHEMA_VENV_DIR/bin/python" - "$report_dir" <<'PY'
import glob, re, sys, xml.etree.ElementTree as ET
reports = sorted(glob.glob(sys.argv[1] + "/junit-*.xml"))
if not reports:
    sys.exit(1)
failures = [f for tc in ET.parse(reports[-1]).iter("testcase") for f in tc if f.tag in ("failure", "error")]
emulator = '`{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error"}`'
def emulator_only(f):
    text = f.text or ""
    codes = set(re.findall(r"\bST\d{3}\b", (f.get("message") or "") + text))
    cases = text.count("Test Case ID:")
    return f.tag == "failure" and codes <= {"ST101", "ST105"} and cases >= 1 and text.count(emulator) == cases
sys.exit(0 if failures and all(emulator_only(f) for f in failures) else 1)
PY
}

echo "==> schemathesis $($st --version | awk '{print $NF}') against $base (seed $seed, at most $max_examples examples per operation, phases $phases)"
cd "$work"
if ! schemathesis; then
  only_emulator_failures || exit 1
  echo "==> every failure above is cargo lambda watch's own 500 (its problem document, not an answer of the service): running schemathesis once more"
  schemathesis
fi
