#!/usr/bin/env bash
# SSE decoding throughput and allocations per event (an event is one streamed chunk, here one
# token-sized delta). See Benchmarks/README.md.
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release --product sse-decode >/dev/null
bin=.build/release/sse-decode
echo "== throughput (best of 20) =="
"$bin" --megabytes 1 --repeat 20
if command -v valgrind >/dev/null; then
  allocs() { valgrind "$bin" "$@" 2>&1 | sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' | tr -d ,; }
  # One decode pass = allocations with two passes minus allocations with one (building the
  # input stream and start-up are the same in both and cancel out).
  one=$(allocs --megabytes 1 --repeat 1)
  two=$(allocs --megabytes 1 --repeat 2)
  events=$("$bin" --megabytes 1 --repeat 1 | sed -n 's/.*events=\([0-9]*\).*/\1/p')
  echo "== allocations (valgrind) =="
  echo "one_pass=$one two_passes=$two events=$events allocs_per_event=$(python3 -c "print(round(($two-$one)/$events, 2))")"
fi
