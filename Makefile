# The commands of the README (make help lists them). Ports, paths and versions live in local/env.sh.
.PHONY: run test install build bench access-keys deploy

run:      ## start the local stack in the foreground (Ctrl-C stops it)
	@bash local/stack.sh run

test:     ## make check, then start the local stack, run every test, stop the stack
	@bash local/check.sh
	@bash local/stack.sh test

.PHONY: check
check:    ## the fast gate, no stack: cargo fmt --check, clippy -D warnings, the domain has no AWS/Lambda/HTTP crate, the tests that need no stack
	@bash local/check.sh

install:  ## only install the local tools into .tools/ (make run and make test do it too)
	@bash local/install.sh

build:    ## every function's bootstrap.zip for arm64 with cargo-lambda (target/lambda/<function>/bootstrap.zip)
	@bash local/build.sh arm64

deploy:   ## sam build, then sam deploy (--guided the first time, or with DEPLOY_GUIDED=1); docs/operations.md
	@bash local/deploy.sh

bench:    ## build, start the local stack, measure (sizes, cold start, latency, CPU, requests), write BENCHMARKS.md; then the events' commit-to-webhook time on a full local stack (BENCH_ARGS=--door-only: only the front door's defences)
	@bash local/stack.sh bench $(BENCH_ARGS)
	@case " $(BENCH_ARGS) " in *" --door-only "*) ;; *) bash local/stack.sh events-bench ;; esac

.PHONY: fuzz
fuzz:     ## run each cargo-fuzz target of fuzz/ for FUZZ_SECONDS (default 60), write executions and crashes into BENCHMARKS.md
	@bash local/fuzz.sh

access-keys: ## the front door's key pairs: make access-keys ARGS='--secret-id <AccessKeysSecretArn> create <caller>' (or list, revoke <id>)
	@cargo run --quiet -p adapters --bin access-keys -- $(ARGS)

.PHONY: callers
callers:  ## a caller's settings: make callers ARGS='put --caller C --file settings.json' (or get / delete --caller C, or preview --caller C --kind Link --lang zh; add --table <TableName> for a deployed stack)
	@bash local/admin.sh callers $(ARGS)

.PHONY: mail-stops
mail-stops: ## what stops mail: make mail-stops ARGS='show|resume --caller C' or ARGS='clear --email E' (add --table <TableName> for a deployed stack)
	@bash local/admin.sh mail-stops $(ARGS)

.PHONY: webhooks
webhooks: ## webhook deliveries that failed every attempt: make webhooks ARGS='count' or ARGS='replay [--max N]' (deployed: add --queue-url <WebhookDeadLetterQueueUrl> --target <WebhookQueueUrl>)
	@bash local/admin.sh webhook-deliveries $(ARGS)

.PHONY: migrate
migrate:  ## once, after upgrading from a version without IndexShards: make migrate ARGS='--table <TableName>' (records and contacts written before it join List and Describe)
	@cargo run --quiet -p adapters --bin migrate-index -- $(ARGS)

.PHONY: template
template: ## rewrite template.yaml's generated parts (each action's function, log group, alarms, dashboard lines) from the action table
	@cargo run --quiet -p stack-tests --bin gen-template

.PHONY: load
load:     ## start a stack of its own ports, drive it with Locust for LOAD_SECONDS (default 240), audit it, write its section of BENCHMARKS.md
	@bash local/load.sh

.PHONY: help
help:     ## list these commands
	@awk -F':[^#]*## ' '/^[a-z-]+:.*## /{printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
