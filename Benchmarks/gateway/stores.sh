#!/usr/bin/env bash
# The gateway's store on the hot path: the same requests through `prellm serve` on the SQLite
# store, on a PostgreSQL store (one replica), and on three replicas sharing it (requests in
# turn, as a round-robin balancer sends them), against direct to the upstream, at fixed rates;
# and one replica on a database whose settlements do not wait for the WAL flush
# (synchronous_commit=off, the durability SQLite's synchronous=NORMAL has against a crash of
# the gateway, not of the database server: see docs/deploying.md).
# Every request is by a key with rpm, tpm and a daily budget, so each one takes its rate
# window, holds and settles its budget, and writes its spend record. See Benchmarks/README.md.
# Needs nginx (apt-get install nginx-light) and PostgreSQL (apt-get install postgresql); starts
# its own PostgreSQL server in a temporary directory on port 18090.
#   RATES="100 1000 2000" SECONDS_PER_RATE=5 [PRELLM_BIN=…] Benchmarks/gateway/stores.sh
set -euo pipefail
cd "$(dirname "$0")"
rates=${RATES:-"100 1000 2000 3000"}
secs=${SECONDS_PER_RATE:-5}
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
mkdir -p out
source ./common.sh
swift build -c release --product gw-load >/dev/null
gateway_binary
pgdir=$(mktemp -d /tmp/prellm-bench-pg.XXXXXX)
asowner=()
if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; asowner=(runuser -u postgres --); fi
cleanup() {
  stop_started
  "${asowner[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap cleanup EXIT
refuse_used_ports 18080 18081 18083 18084 18085 18086 18090
nginx -c "$PWD/nginx.conf"
"${asowner[@]}" "$pgbin/initdb" -D "$pgdir/data" -U prellm -A trust >/dev/null
"${asowner[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-p 18090 -k $pgdir -c listen_addresses=127.0.0.1" start >/dev/null
"$pgbin/createdb" -h 127.0.0.1 -p 18090 -U prellm prellm
"$pgbin/createdb" -h 127.0.0.1 -p 18090 -U prellm prellm_async
"$pgbin/psql" -h 127.0.0.1 -p 18090 -U prellm -d prellm -qc "ALTER DATABASE prellm_async SET synchronous_commit = off"

key=sk-bench-0123456789abcdef0123456789abcdef
keyhash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
config() { # port, store line
  cat <<YAML
prellm: 1
server: {port: $1}
models:
  fast: openai/gpt-4o-mini
keys:
  - {id: bench, hash: "sha256:$keyhash", rpm: 100000000, tpm: 1000000000000, usd_per_day: 1000000}
store: $2
YAML
}
rm -f out/stores-sqlite.sqlite*
config 18081 "{path: stores-sqlite.sqlite}" > out/stores-sqlite.yaml
for port in 18083 18084 18085; do config $port "{url: \"postgres://prellm@127.0.0.1:18090/prellm?sslmode=disable\"}" > out/stores-pg-$port.yaml; done
config 18086 "{url: \"postgres://prellm@127.0.0.1:18090/prellm_async?sslmode=disable\"}" > out/stores-pg-async.yaml
serve() { OPENAI_BASE_URL=http://127.0.0.1:18080/v1 OPENAI_API_KEY=sk-bench "$bin" serve --config "$1" 2>/dev/null & pids+=($!); }
serve out/stores-sqlite.yaml; sqlite_pid=$!
serve out/stores-pg-18083.yaml; pg_pid=$!
serve out/stores-pg-18084.yaml
serve out/stores-pg-18085.yaml
serve out/stores-pg-async.yaml
for port in 18081 18083 18084 18085 18086; do wait_for "http://127.0.0.1:$port/healthz"; done
load() { .build/release/gw-load "$@" --rate "$rate" --seconds "$secs" --header "Authorization: Bearer $key"; }
echo "| rate (req/s) | path | achieved (req/s) | p50 ms | p99 ms | p50 added | p99 added | errors | dropped |"
echo "|---|---|---|---|---|---|---|---|---|"
for rate in $rates; do
  direct=$(.build/release/gw-load http://127.0.0.1:18080/v1/chat/completions --rate "$rate" --seconds "$secs")
  for path in sqlite postgres postgres×3 "postgres, no flush"; do
    case $path in
      sqlite) r=$(load http://127.0.0.1:18081/v1/chat/completions) ;;
      postgres) r=$(load http://127.0.0.1:18083/v1/chat/completions) ;;
      "postgres, no flush") r=$(load http://127.0.0.1:18086/v1/chat/completions) ;;
      *) r=$(load http://127.0.0.1:18083/v1/chat/completions http://127.0.0.1:18084/v1/chat/completions http://127.0.0.1:18085/v1/chat/completions) ;;
    esac
    python3 row.py "$rate" "$path" "$direct" "$r"
  done
  python3 row.py "$rate" direct "$direct"
done
echo
spend=$("$pgbin/psql" -h 127.0.0.1 -p 18090 -U prellm -d prellm -Atc "SELECT count(*) FROM prellm_spend")
echo "peak RSS: sqlite replica $(hwm $sqlite_pid) MB, postgres replica $(hwm $pg_pid) MB; spend records in PostgreSQL: $spend"
