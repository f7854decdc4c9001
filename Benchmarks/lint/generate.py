#!/usr/bin/env python3
"""Writes N generated workflows of about 50 steps each (deterministic: seeded), all of which
lint clean, so the benchmark exercises every check: decoding, contracts, flow, types."""
import os, random, sys

def workflow(n, rng, steps=50):
    out = [f"prellm: 1", f"name: generated-{n}", "inputs:", "  query: {type: string, minLength: 1}",
           "  limit: {type: integer, default: 10}", "models:", "  small: {use: ollama/qwen2.5:3b, temperature: 0}",
           "  large:", "    use: [openai/gpt-4o-mini, anthropic/claude-sonnet-4-5]", "    policy: fallback",
           "    max_tokens: 800", "budget: {max_usd: 0.50, timeout: 2m}", "contracts:"]
    for c in range(4):
        out += [f"  Facts{c}:", "    type: object", "    required: [target, missing, count]", "    properties:",
                "      target: {type: string, minLength: 1}", "      missing: {type: array, items: {type: string}}",
                "      count: {type: integer, minimum: 0}", "      level: {enum: [low, mid, high]}"]
    out.append("steps:")
    ids = []
    kinds = []
    i = 0
    while i < steps:
        sid = f"s{i}"
        k = rng.choice(["classify", "extract", "call", "transform", "route", "validate"]) if ids else "classify"
        if k == "route" and i == steps - 1:
            k = "transform"
        if k == "classify":
            out += [f"  - id: {sid}", "    classify:", "      model: small", '      text: "{{ inputs.query }}"',
                    "      labels: [deploy, rollback, status, other]"]
        elif k == "extract":
            c = rng.randrange(4)
            out += [f"  - id: {sid}", "    extract:", "      model: small", f"      into: Facts{c}",
                    "      text: |", "        {{ inputs.query }}", f"        Earlier: {{{{ {ids[-1]} | json | truncate(200) }}}}"]
        elif k == "call":
            prev = [x for x, kk in zip(ids, kinds) if kk == "extract"]
            ref = prev[-1] if prev else None
            body = ["      prompt: |", "        Request: {{ inputs.query }}"]
            if ref:
                body += [f"        Target: {{{{ {ref}.target }}}} ({{{{ {ref}.level | default('mid') }}}})",
                         f"        {{% if size({ref}.missing) > 0 %}}Missing: {{{{ {ref}.missing | join(', ') }}}}{{% endif %}}",
                         f"        {{% for m in {ref}.missing %}}- {{{{ m | upper }}}}", "        {% endfor %}"]
            out += [f"  - id: {sid}", "    call:", "      model: large", '      system: "You are careful."'] + body
        elif k == "transform":
            out += [f"  - id: {sid}", f'    transform: "{{{{ {ids[-1]} | json }}}} / {{{{ inputs.limit + 1 }}}}"']
        elif k == "route":
            cls = [x for x, kk in zip(ids, kinds) if kk == "classify"][-1]
            # route to the next step either way, so every later step stays reachable
            out += [f"  - id: {sid}", "    route:", f'      - if: {cls}.label == "deploy" && {cls}.confidence > 0.5',
                    f"        then: s{i+1}", f"      - else: s{i+1}"]
        elif k == "validate":
            ext = [x for x, kk in zip(ids, kinds) if kk == "extract"]
            models = [x for x, kk in zip(ids, kinds) if kk in ("extract", "call", "classify")]
            if not ext:
                k = "transform"
                out += [f"  - id: {sid}", f'    transform: "{{{{ {ids[-1]} | json }}}}"']
            else:
                e = ext[-1]
                out += [f"  - id: {sid}", "    validate:", f'      value: "{{{{ {e} }}}}"', "      assert:",
                        "        - value.count >= 0 && size(value.target) > 0", f"      on_fail: {{retry: {e}, attempts: 2}}"]
        ids.append(sid)
        kinds.append(k)
        i += 1
    out.append(f'output: "{{{{ {ids[-1]} }}}}"')
    return "\n".join(out) + "\n"

def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    folder = sys.argv[2] if len(sys.argv) > 2 else "Benchmarks/out/workflows"
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(42)
    for n in range(count):
        with open(os.path.join(folder, f"wf{n:04d}.yaml"), "w") as f:
            f.write(workflow(n, rng))

if __name__ == "__main__":
    main()
