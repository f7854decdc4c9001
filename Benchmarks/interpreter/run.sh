#!/usr/bin/env bash
# Interpreter overhead per step, prellm against langchain-core, in one run. See Benchmarks/README.md.
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release --product interp-bench >/dev/null
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q langchain-core
fi
echo "langchain-core $(.venv/bin/python -c 'import langchain_core; print(langchain_core.__version__)')"
.build/release/interp-bench --steps 10 --runs 2000 --concurrent 1000
.venv/bin/python peer.py --steps 10 --runs 500
