#!/usr/bin/env bash
# The gateway's hot path, in one run: direct to the upstream, `prellm serve` without keys, the
# same with a key that has rpm, tpm and a daily budget (every request admitted, held, settled
# and written to the SQLite ledger), and the LiteLLM proxy; with wrk (closed loop, c=1, 8, 64)
# and gw-load (open loop, fixed offered rates), then a soak of the keyed gateway at a fixed rate
# with its resident memory sampled every 10 s. See Benchmarks/README.md ("Gateway hot path").
# Needs nginx and wrk (apt-get install nginx-light wrk); LITELLM=0 skips LiteLLM.
#   WRK_SECONDS=10 RATES="1000" SECONDS_PER_RATE=10 SOAK_SECONDS=600 Benchmarks/gateway/hotpath.sh
set -euo pipefail
cd "$(dirname "$0")"
wrk_secs=${WRK_SECONDS:-10}
rates=${RATES:-"1000"}
secs=${SECONDS_PER_RATE:-10}
soak=${SOAK_SECONDS:-600}
soak_rate=${SOAK_RATE:-1000}
conns=${CONNECTIONS:-"1 8 64"}
litellm=${LITELLM:-1}
# LiteLLM is offered fixed rates up to this one; past the rate it collapses at there is nothing to compare.
litellm_max=${LITELLM_MAX_RATE:-1000}
source ./common.sh
mkdir -p out
swift build -c release --product gw-load >/dev/null
gateway_binary
[ "$litellm" = 1 ] && install_litellm
trap stop_started EXIT
refuse_used_ports 18080 18081 18082 18083
nginx -c "$PWD/nginx.conf"

key=sk-bench-0123456789abcdef0123456789abcdef
keyhash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
rm -f out/hot-open.sqlite* out/hot-keyed.sqlite*
cat > out/hot-open.yaml <<YAML
prellm: 1
server: {port: 18081}
models:
  fast: openai/gpt-4o-mini
store: {path: hot-open.sqlite}
YAML
cat > out/hot-keyed.yaml <<YAML
prellm: 1
server: {port: 18083}
models:
  fast: openai/gpt-4o-mini
keys:
  - {id: bench, hash: "sha256:$keyhash", rpm: 100000000, tpm: 1000000000000, usd_per_day: 1000000}
store: {path: hot-keyed.sqlite}
YAML
serve() { OPENAI_BASE_URL=http://127.0.0.1:18080/v1 OPENAI_API_KEY=sk-bench "$bin" serve --config "$1" 2>/dev/null & pids+=($!); }
serve out/hot-open.yaml; open_pid=$!
serve out/hot-keyed.yaml; keyed_pid=$!
[ "$litellm" = 1 ] && start_litellm "$key"
wait_for http://127.0.0.1:18081/healthz
wait_for http://127.0.0.1:18083/healthz
[ "$litellm" = 1 ] && wait_for http://127.0.0.1:18082/health/liveliness
paths="direct prellm prellm+key"
[ "$litellm" = 1 ] && paths="$paths litellm"
url() { case $1 in direct) echo http://127.0.0.1:18080/v1/chat/completions ;; prellm) echo http://127.0.0.1:18081/v1/chat/completions ;;
  prellm+key) echo http://127.0.0.1:18083/v1/chat/completions ;; litellm) echo http://127.0.0.1:18082/v1/chat/completions ;; esac; }
keyed() { [ "$1" = prellm+key ] || [ "$1" = litellm ]; }

echo "wrk, closed loop, $wrk_secs s per row (one wrk thread):"
echo
echo "| c | path | req/s | p50 ms | p99 ms | p50 added | p99 added | errors |"
echo "|---|---|---|---|---|---|---|---|"
for c in $conns; do
  direct=""
  for path in $paths; do
    k=""; keyed "$path" && k=$key
    r=$(PRELLM_BENCH_KEY=$k wrk -t1 -c"$c" -d"${wrk_secs}s" -s post.lua "$(url "$path")" | tail -1)
    [ "$path" = direct ] && direct=$r
    if [ "$path" = direct ]; then python3 row.py --wrk "$c" direct "$r"; else python3 row.py --wrk "$c" "$path" "$direct" "$r"; fi
  done
done
echo
echo "gw-load, open loop, $secs s per rate:"
echo
echo "| rate (req/s) | path | achieved (req/s) | p50 ms | p99 ms | p50 added | p99 added | errors | dropped |"
echo "|---|---|---|---|---|---|---|---|---|"
for rate in $rates; do
  direct=$(.build/release/gw-load "$(url direct)" --rate "$rate" --seconds "$secs")
  python3 row.py "$rate" direct "$direct"
  for path in $paths; do
    [ "$path" = direct ] && continue
    [ "$path" = litellm ] && [ "$rate" -gt "$litellm_max" ] && continue
    h=(); keyed "$path" && h=(--header "Authorization: Bearer $key")
    r=$(.build/release/gw-load "$(url "$path")" --rate "$rate" --seconds "$secs" "${h[@]}")
    python3 row.py "$rate" "$path" "$direct" "$r"
  done
done
echo
echo "peak RSS after the runs: prellm $(hwm $open_pid) MB, prellm+key $(hwm $keyed_pid) MB"
if [ "$soak" -gt 0 ]; then
  echo
  echo "soak: prellm+key at $soak_rate req/s for $soak s, resident MB every 10 s:"
  .build/release/gw-load "$(url prellm+key)" --rate "$soak_rate" --seconds "$soak" --header "Authorization: Bearer $key" > out/soak.json &
  load=$!
  series=""
  while kill -0 $load 2>/dev/null; do series="$series $(rss $keyed_pid)"; sleep 10; done
  echo "$series"
  echo "soak result: $(cat out/soak.json); peak RSS $(hwm $keyed_pid) MB"
fi
