# What the gateway benchmarks share (sourced by run.sh, hotpath.sh and stores.sh, from this
# directory): the gateway binary, the processes they start and stop, the port check, waiting
# for a server, the LiteLLM proxy, and reading a process's memory.

pids=()

# The gateway to measure: PRELLM_BIN (another build's binary, for an A/B against the previous
# build: see ab.sh), else this tree's release build, built first. Sets bin.
gateway_binary() {
  bin=${PRELLM_BIN:-../../.build/release/prellm}
  [ -n "${PRELLM_BIN:-}" ] || (cd ../.. && swift build -c release --product prellm >/dev/null)
}
# Stops what the script started; a script with more to stop defines its own and calls this.
stop_started() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; nginx -c "$PWD/nginx.conf" -s stop 2>/dev/null || true; }

# Another run (or anything else) on these ports would measure itself, not the gateways.
refuse_used_ports() {
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use: stop what listens there first" >&2; exit 2; fi
  done
}

# Waits (up to a minute) until URL answers 2xx; a server that does not ends the run, since its
# rows would be all errors.
wait_for() {
  for _ in $(seq 1 120); do curl -fs "$1" >/dev/null 2>&1 && return; sleep 0.5; done
  echo "$1 did not answer within 60 s" >&2
  return 1
}

# LiteLLM from PyPI into .venv, on first use.
install_litellm() {
  [ -x .venv/bin/litellm ] && return
  python3 -m venv .venv
  .venv/bin/pip install -q 'litellm[proxy]'
}

# The LiteLLM proxy on port 18082 in front of the nginx upstream, one worker, master key $1;
# sets litellm_pid.
start_litellm() {
  cat > out/litellm.yaml <<YAML
model_list:
  - model_name: fast
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:18080/v1", api_key: sk-bench}
litellm_settings: {set_verbose: false}
general_settings: {master_key: $1}
YAML
  .venv/bin/litellm --config out/litellm.yaml --host 127.0.0.1 --port 18082 --num_workers 1 >out/litellm.log 2>&1 &
  litellm_pid=$!
  pids+=("$litellm_pid")
}

# A process's peak and current resident memory, in MB.
hwm() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status" 2>/dev/null || echo "?"; }
rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$1/status" 2>/dev/null || echo "?"; }
