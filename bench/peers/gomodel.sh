#!/bin/sh
# gomodel.sh UPSTREAM_BASE_URL PORT serves the GoModel gateway
# (github.com/ENTERPILOT/GoModel) as a plain OpenAI-compatible proxy in
# front of UPSTREAM_BASE_URL (http://HOST:PORT/v1), for bench -peer:
#
#   go run ./bench -peer 'bench/peers/gomodel.sh {upstream} {port}' -peer-name GoModel
#
# GM_BIN is the GoModel binary (default /tmp/gomodel-bin), built from its
# repository with: CGO_ENABLED=0 go build -o /tmp/gomodel-bin ./cmd/gomodel
# Measured with commit a26fbd1 (2026-04-28).
#
# Its extras that are on by default and cost time per request are turned
# off, so that it is compared at its fastest: usage tracking, budgets,
# retries, the circuit breaker, fallback, model overrides, the admin API
# and UI, and the fetch of its model list from the internet. Audit
# logging, metrics, guardrails and response caches are off by default.
# It serves one model, upstream-model, and asks clients for no key; it
# listens on every interface (GoModel has no setting for the host), so
# run it only where an open port for the length of a benchmark is fine.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 UPSTREAM_BASE_URL PORT" >&2; exit 2; }
upstream=$1 port=$2
bin=${GM_BIN:-/tmp/gomodel-bin}
data=$(mktemp -d "${TMPDIR:-/tmp}/gomodel-data.XXXXXX")
mkdir -p "$data/cache"
# GoModel reads config.yaml from its working directory; only there can the
# model list's URL be blanked (an empty environment variable is ignored).
printf 'cache:\n  model:\n    model_list:\n      url: ""\n' > "$data/config.yaml"
cd "$data"
# A clean environment, so that no stray *_API_KEY registers a provider.
exec env -i PATH=/usr/bin:/bin HOME="$data" \
  OPENAI_API_KEY=sk-bench OPENAI_BASE_URL="$upstream" \
  CONFIGURED_PROVIDER_MODELS_MODE=allowlist OPENAI_MODELS=upstream-model \
  PORT="$port" LOG_LEVEL=warn LOG_FORMAT=json \
  GOMODEL_CACHE_DIR="$data/cache" STORAGE_TYPE=sqlite SQLITE_PATH="$data/gomodel.db" \
  LOGGING_ENABLED=false USAGE_ENABLED=false ENFORCE_RETURNING_USAGE_DATA=false \
  BUDGETS_ENABLED=false METRICS_ENABLED=false \
  ADMIN_ENDPOINTS_ENABLED=false ADMIN_UI_ENABLED=false SWAGGER_ENABLED=false PPROF_ENABLED=false \
  GUARDRAILS_ENABLED=false RESPONSE_CACHE_SIMPLE_ENABLED=false SEMANTIC_CACHE_ENABLED=false \
  MODEL_OVERRIDES_ENABLED=false FEATURE_FALLBACK_MODE=off ENABLE_PASSTHROUGH_ROUTES=false \
  RETRY_MAX_RETRIES=0 CIRCUIT_BREAKER_FAILURE_THRESHOLD=0 WORKFLOW_REFRESH_INTERVAL=1h \
  "$bin"
