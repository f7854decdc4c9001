#!/usr/bin/env python3
"""How fast `prellm lsp` re-diagnoses a workflow as it is edited: one generated workflow of 50
steps (about 330 lines, Benchmarks/lint/generate.py), opened, then changed N times (a word of
a prompt edited each time, the whole text sent, as full sync does); each change is timed from
its write to the publishDiagnostics that answers it; then N completions inside the last
template. Prints p50, p90, p99 and the worst of each.
    python3 Benchmarks/lsp/bench.py [--prellm .build/release/prellm] [--changes 300]"""
import argparse, json, os, random, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lint"))
import generate  # noqa: E402

def frame(msg):
    body = json.dumps(msg).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body

def read(proc):
    length = None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the server closed its output")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(proc.stdout.read(length))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prellm", default=os.path.join(HERE, "..", "..", ".build", "release", "prellm"))
    ap.add_argument("--changes", type=int, default=300)
    a = ap.parse_args()
    text = generate.workflow(0, random.Random(7))
    lines = text.count("\n") + 1
    proc = subprocess.Popen([a.prellm, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    send = lambda m: (proc.stdin.write(frame(m)), proc.stdin.flush())
    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}})
    read(proc)
    uri = "file:///tmp/prellm-lsp-bench/w.yaml"
    send({"jsonrpc": "2.0", "method": "textDocument/didOpen",
          "params": {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}})
    first = read(proc)
    assert first["params"]["diagnostics"] == [], first
    times = []
    for v in range(2, a.changes + 2):
        edited = text.replace("You are careful.", "You are careful %d." % v)
        start = time.perf_counter()
        send({"jsonrpc": "2.0", "method": "textDocument/didChange",
              "params": {"textDocument": {"uri": uri, "version": v}, "contentChanges": [{"text": edited}]}})
        answer = read(proc)
        times.append((time.perf_counter() - start) * 1000)
        assert answer["params"]["version"] == v and answer["params"]["diagnostics"] == [], answer
    # Completion inside the last step's last `{{ `: the steps in scope and their fields.
    at_line = max(i for i, l in enumerate(text.split("\n")) if "{{ " in l)
    at_char = text.split("\n")[at_line].rindex("{{ ") + 3
    completions = []
    for i in range(a.changes):
        start = time.perf_counter()
        send({"jsonrpc": "2.0", "id": 10 + i, "method": "textDocument/completion",
              "params": {"textDocument": {"uri": uri}, "position": {"line": at_line, "character": at_char}}})
        answer = read(proc)
        completions.append((time.perf_counter() - start) * 1000)
        assert answer["result"]["items"], answer
    send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    read(proc)
    send({"jsonrpc": "2.0", "method": "exit"})
    proc.wait(timeout=10)
    for name, ts in (("changes", times), ("completions", completions)):
        ts.sort()
        pick = lambda q: ts[min(len(ts) - 1, int(len(ts) * q))]
        print("%d-line workflow, %d %s: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, worst %.2f ms"
              % (lines, len(ts), name, pick(0.5), pick(0.9), pick(0.99), ts[-1]))

if __name__ == "__main__":
    main()
