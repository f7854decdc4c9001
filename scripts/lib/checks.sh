# What scripts/check-release, check-image and check-compose share; sourced.
checks_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The chat-completions stand-in on PORT, listening on ADDRESS (default loopback); its pid in
# $upstream.
start_upstream() {
  python3 "$checks_lib/upstream.py" "$1" "${2:-127.0.0.1}" &
  upstream=$!
}

# Waits up to TRIES × 0.2 s (default 50) for URL to answer with a success.
wait_for() {
  local url=$1 tries=${2:-50}
  for _ in $(seq 1 "$tries"); do
    python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1])" "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# The openai client against a gateway (scripts/lib/ask.py).
ask_openai() { python3 "$checks_lib/ask.py" "$@"; }
