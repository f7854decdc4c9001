#!/usr/bin/env python3
"""The peer: a JSON-Schema-only check of the same files with Python's jsonschema
(PyYAML with its libyaml loader, Draft202012Validator over schemas/workflow.schema.json).
It checks shape only: no names, flow or types."""
import glob, json, sys
import yaml
from jsonschema import Draft202012Validator

schema = json.load(open(sys.argv[1]))
validator = Draft202012Validator(schema)
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
invalid = 0
files = sorted(glob.glob(sys.argv[2] + "/*.yaml"))
for path in files:
    with open(path) as f:
        doc = yaml.load(f, Loader=loader)
    if any(True for _ in validator.iter_errors(doc)):
        invalid += 1
print(f"{len(files)} files, {invalid} invalid")
sys.exit(1 if invalid else 0)
