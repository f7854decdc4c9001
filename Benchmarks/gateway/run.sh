#!/usr/bin/env bash
# The gateway's added latency and throughput: direct to the upstream, through `prellm serve`
# (release build) and through the LiteLLM proxy, at the same fixed request rates, in one run.
# See Benchmarks/README.md. Needs nginx (apt-get install nginx-light); installs LiteLLM into
# Benchmarks/gateway/.venv from PyPI on first use.
#   RATES="100 500 1000 2000 5000" SECONDS_PER_RATE=5 Benchmarks/gateway/run.sh
set -euo pipefail
cd "$(dirname "$0")"
rates=${RATES:-"100 200 500 1000 2000 5000 10000"}
# LiteLLM is measured up to this rate; past the rate it collapses at there is nothing to compare.
litellm_max=${LITELLM_MAX_RATE:-1000}
secs=${SECONDS_PER_RATE:-5}
mkdir -p out
swift build -c release --product gw-load >/dev/null
(cd ../.. && swift build -c release --product prellm >/dev/null)
source ./common.sh
install_litellm
trap stop_started EXIT
nginx -c "$PWD/nginx.conf" -s stop 2>/dev/null || true
sleep 0.5
refuse_used_ports 18080 18081 18082
nginx -c "$PWD/nginx.conf"

# Both gateways check a key on every request, as they would in production.
key=sk-bench-0123456789abcdef0123456789abcdef
keyhash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
cat > out/prellm.yaml <<YAML
prellm: 1
server: {port: 18081}
models:
  fast: openai/gpt-4o-mini
keys:
  - {id: bench, hash: "sha256:$keyhash"}
store: {path: prellm-store.sqlite}
YAML
OPENAI_BASE_URL=http://127.0.0.1:18080/v1 OPENAI_API_KEY=sk-bench ../../.build/release/prellm serve --config out/prellm.yaml 2>/dev/null &
pids+=($!); prellm_pid=$!
start_litellm "$key"
wait_for http://127.0.0.1:18081/healthz
wait_for http://127.0.0.1:18082/health/liveliness
echo "| rate (req/s) | path | achieved (req/s) | p50 ms | p99 ms | p50 added | p99 added | errors | dropped |"
echo "|---|---|---|---|---|---|---|---|---|"
for rate in $rates; do
  direct=$(.build/release/gw-load http://127.0.0.1:18080/v1/chat/completions --rate "$rate" --seconds "$secs")
  paths="prellm"
  [ "$rate" -le "$litellm_max" ] && paths="prellm litellm"
  for path in $paths; do
    port=$([ $path = prellm ] && echo 18081 || echo 18082)
    r=$(.build/release/gw-load "http://127.0.0.1:$port/v1/chat/completions" --rate "$rate" --seconds "$secs" --header "Authorization: Bearer $key")
    python3 row.py "$rate" "$path" "$direct" "$r"
  done
  python3 row.py "$rate" direct "$direct"
done
echo
echo "peak RSS: prellm $(hwm $prellm_pid) MB, litellm $(hwm $litellm_pid) MB"
