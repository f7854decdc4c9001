#!/usr/bin/env python3
"""Lint throughput: prellm (release build) against a JSON-Schema-only check in Python, on the
same 1,000 generated workflows of about 50 steps, in one run on one machine.

    python3 Benchmarks/lint/bench.py [--files 1000] [--runs 3]

Reports files per second (best of --runs) and peak resident memory of each process."""
import argparse, os, subprocess, sys, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

def measure(cmd, runs):
    best = None
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            sys.exit(f"{' '.join(cmd)} exited {code}:\n{out[-2000:]}\n{err[-2000:]}")
        rss_mb = usage.ru_maxrss / 1024
        if best is None or elapsed < best[0]:
            best = (elapsed, rss_mb, err.strip() or out.strip())
    return best

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    folder = os.path.join(ROOT, "Benchmarks/out/workflows")
    subprocess.run(["rm", "-rf", folder], check=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "Benchmarks/lint/generate.py"), str(args.files), folder], check=True)
    lines = sum(1 for f in os.listdir(folder) for _ in open(os.path.join(folder, f)))
    print(f"{args.files} workflows, {lines} lines, {os.cpu_count()} cores", flush=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "prellm"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    prellm = os.path.join(ROOT, ".build/release/prellm")
    rows = [
        ("prellm lint (all cores)", [prellm, "lint", folder]),
        ("prellm lint --jobs 1", [prellm, "lint", "--jobs", "1", folder]),
        ("python jsonschema, schema only (1 core)",
         [sys.executable, os.path.join(ROOT, "Benchmarks/lint/jsonschema_check.py"),
          os.path.join(ROOT, "schemas/workflow.schema.json"), folder]),
    ]
    results = []
    for name, cmd in rows:
        elapsed, rss, note = measure(cmd, args.runs)
        results.append((name, elapsed, rss, note))
        print(f"  {name}: {elapsed:.3f} s ({note})", flush=True)
    peer = results[-1][1]
    print()
    print("| checker | time (s) | files/s | peak RSS (MB) | vs jsonschema |")
    print("|---|---|---|---|---|")
    for name, elapsed, rss, _ in results:
        print(f"| {name} | {elapsed:.3f} | {args.files / elapsed:,.0f} | {rss:.0f} | {peer / elapsed:.1f}× |")
    bomb = os.path.join(ROOT, "Tests/PrellmCompilerTests/testdata/diagnostics/yaml-alias-bomb.yaml")
    start = time.perf_counter()
    subprocess.run([prellm, "lint", bomb], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"\nalias bomb (10^9 nodes if expanded): rejected in {(time.perf_counter() - start) * 1000:.1f} ms, process start included")

if __name__ == "__main__":
    main()
