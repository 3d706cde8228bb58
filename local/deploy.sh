#!/usr/bin/env bash
# make deploy: sam build, then sam deploy, with the SAM CLI pinned in local/env.sh (.tools/sam-venv).
#   guided (sam deploy --guided: asks for the Region and the parameters and offers to save them into
#   samconfig.toml) when samconfig.toml has no saved deploy settings yet for SAM_CONFIG_ENV (a region and a
#   SenderAddress in its parameter_overrides), or when DEPLOY_GUIDED=1; otherwise unattended (sam deploy, which
#   still shows the change set and asks before executing it: confirm_changeset in samconfig.toml).
#   SAM_CONFIG_ENV=prod   the samconfig.toml environment to use (default: default)
#   DEPLOY_ARGS='...'     more arguments for sam deploy (e.g. --parameter-overrides AlarmTopicArn=arn:...)
# The AWS credentials and Region are the caller's own (profile, AWS_PROFILE, or environment): the dummy ones
# that local/env.sh sets for the local stack are dropped here.
set -euo pipefail

# The caller's AWS settings, as they were before env.sh sets the local stack's.
callers_aws="$(export -p | grep -E '^declare -x AWS_[A-Z_]*=' || true)"
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
unset AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SESV2
unset AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_EVENTBRIDGE
eval "$callers_aws"
# Nothing of the local stack's reaches the build: these are read by the local stack only.
unset LOCAL_CALLER_HEADER CODE_HMAC_SECRET ACCESS_KEYS SMS_OUTBOX LOCAL_EVENTS_FAULT_FILE WEBHOOK_RETRY_SCALE
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"
cd "$ROOT_DIR"
: "${SAM_CONFIG_ENV:=default}"

bash local/install.sh
sam="$SAM_VENV_DIR/bin/sam"

# The functions are built for arm64 (Graviton): cargo-lambda (on PATH from .tools/venv) cross-compiles with zig,
# and needs the Rust target.
target=aarch64-unknown-linux-gnu
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  echo "==> adding the Rust target $target (rustup target add $target)"
  command -v rustup >/dev/null 2>&1 && rustup target add "$target" || {
    echo "deploy.sh: the Rust target $target is missing and could not be added (rustup target add $target)" >&2
    exit 1
  }
fi

# Saved deploy settings for this environment: a Region and a SenderAddress (the parameter without a default).
saved="$("$SAM_VENV_DIR/bin/python3" - "$SAM_CONFIG_ENV" <<'PY'
import sys, tomllib
try:
    with open("samconfig.toml", "rb") as f:
        config = tomllib.load(f)
except FileNotFoundError:
    config = {}
env = config.get(sys.argv[1], {})
deploy = env.get("deploy", {}).get("parameters", {})
region = deploy.get("region") or env.get("global", {}).get("parameters", {}).get("region")
overrides = deploy.get("parameter_overrides", "")
if isinstance(overrides, list):
    overrides = " ".join(overrides)
print("yes" if region and "SenderAddress=" in overrides else "no")
PY
)"
guided=()
if [ "${DEPLOY_GUIDED:-0}" = 1 ] || [ "$saved" != yes ]; then
  [ -t 0 ] || {
    echo "deploy.sh: samconfig.toml has no saved deploy settings for '$SAM_CONFIG_ENV' (or DEPLOY_GUIDED=1), so sam deploy must run --guided, which needs a terminal" >&2
    exit 1
  }
  guided=(--guided)
fi

echo "==> sam build (config env $SAM_CONFIG_ENV)"
"$sam" build --config-env "$SAM_CONFIG_ENV"
echo "==> sam deploy ${guided[*]} (config env $SAM_CONFIG_ENV)"
# shellcheck disable=SC2086
"$sam" deploy --config-env "$SAM_CONFIG_ENV" "${guided[@]}" ${DEPLOY_ARGS:-}
