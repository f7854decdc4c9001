"""One row of the gateway benchmarks' tables, from gw-load's JSON lines.

    row.py RATE PATH DIRECT_JSON [RESULT_JSON]

With a result, the path's figures and what it adds over direct's; without, direct's own row.
"""
import json
import sys

rate, path, d = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if len(sys.argv) > 4:
    r = json.loads(sys.argv[4])
    added = f"{r['p50_ms'] - d['p50_ms']:.3f} | {r['p99_ms'] - d['p99_ms']:.3f}"
else:
    r, added = d, "– | –"
print(f"| {rate} | {path} | {r['achieved_rps']:.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {added} | {r['errors']} | {r['dropped']} |")
