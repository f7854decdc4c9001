#!/usr/bin/env bash
# An A/B of two gateway builds on this machine: hotpath.sh's wrk and fixed-rate rows for each,
# in alternating rounds (a noisy machine then shows up as spread between rounds of one build,
# not as a difference between builds).
#   ab.sh OLD_BINARY NEW_BINARY [ROUNDS]    e.g. ab.sh /tmp/prellm-base ../../.build/release/prellm 3
set -euo pipefail
cd "$(dirname "$0")"
old=$1 new=$2 rounds=${3:-3}
for round in $(seq 1 "$rounds"); do
  for build in old new; do
    bin=$([ $build = old ] && echo "$old" || echo "$new")
    echo "## round $round, $build ($bin)"
    PRELLM_BIN=$bin LITELLM=0 SOAK_SECONDS=0 WRK_SECONDS=${WRK_SECONDS:-5} SECONDS_PER_RATE=${SECONDS_PER_RATE:-5} \
      CONNECTIONS=${CONNECTIONS:-"1 8"} RATES=${RATES:-1000} ./hotpath.sh | grep '^| [0-9]'
  done
done
