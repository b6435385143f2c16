"""Validate cassettes against cassettes/schema.json; print one line per file: 'ok PATH' or 'invalid PATH: why'."""

import json
import sys

import jsonschema

schema_path, *files = sys.argv[1:]
with open(schema_path) as f:
    schema = json.load(f)
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for path in files:
    with open(path) as f:
        doc = json.load(f)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        print(f"invalid {path}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
    else:
        print(f"ok {path}")
