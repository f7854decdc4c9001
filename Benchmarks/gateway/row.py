"""One row of the gateway benchmarks' tables, from gw-load's JSON lines.

    row.py RATE PATH DIRECT_JSON [RESULT_JSON]
    row.py --wrk CONNECTIONS PATH DIRECT_JSON [RESULT_JSON]    (post.lua's JSON line)

With a result, the path's figures and what it adds over direct's; without, direct's own row.
"""
import json
import sys

args = sys.argv[1:]
wrk = args[0] == "--wrk"
if wrk:
    args = args[1:]
first, path, d = args[0], args[1], json.loads(args[2])
if len(args) > 3:
    r = json.loads(args[3])
    added = f"{r['p50_ms'] - d['p50_ms']:.3f} | {r['p99_ms'] - d['p99_ms']:.3f}"
else:
    r, added = d, "– | –"
if wrk:
    print(f"| {first} | {path} | {r['rps']:,.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {added} | {r['errors']} |")
else:
    print(f"| {first} | {path} | {r['achieved_rps']:.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {added} | {r['errors']} | {r['dropped']} |")
