#!/usr/bin/env python3
"""Refresh model/ from the installed botocore: copies the service models the
emulator serves, strips documentation strings, and records the botocore version.

Usage: python scripts/vendor_models.py   (with botocore importable, e.g. the test venv)

Athena has two wire forms: awsJson1.1 (botocore up to 1.44.13, `athena.json`, the model the
code is generated from) and restJson1 (botocore 1.44.18 and later). The emulator serves both;
`athena-rest-json.json` (only its HTTP bindings are used) is refreshed with
    python scripts/vendor_models.py --athena-rest-json
run by an interpreter whose botocore has the restJson1 Athena model.
"""
import gzip
import json
import os
import sys

import botocore

SERVICES = {
    "cleanrooms": "2022-02-17",
    "glue": "2017-03-31",
    "athena": "2017-05-18",
    "sts": "2011-06-15",
    "entityresolution": "2018-05-10",
}
DOC_KEYS = {"documentation", "documentationUrl", "docs"}
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model")


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in DOC_KEYS}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def load(path):
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rt", encoding="utf-8") as fh:
            return json.load(fh)
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def vendor_athena_rest_json(data):
    """Writes model/athena-rest-json.json from this botocore's (restJson1) Athena model."""
    model = strip(load(os.path.join(data, "athena", "2017-05-18", "service-2.json")))
    if model["metadata"]["protocol"] != "rest-json":
        sys.exit(f"botocore {botocore.__version__}'s Athena model is not rest-json")
    with open(os.path.join(ROOT, "athena-rest-json.json"), "w", encoding="utf-8") as fh:
        json.dump(model, fh, indent=1, sort_keys=True)
        fh.write("\n")
    version = os.path.join(ROOT, "VERSION")
    with open(version, encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("athena-rest-json.json")]
    with open(version, "w", encoding="utf-8") as fh:
        fh.writelines(lines + [f"athena-rest-json.json: botocore {botocore.__version__} (Athena's restJson1 wire form)\n"])
    print(f"vendored Athena's restJson1 model from botocore {botocore.__version__}", file=sys.stderr)


def main():
    data = os.path.join(os.path.dirname(botocore.__file__), "data")
    if sys.argv[1:] == ["--athena-rest-json"]:
        vendor_athena_rest_json(data)
        return
    os.makedirs(ROOT, exist_ok=True)
    for service, version in SERVICES.items():
        src = os.path.join(data, service, version)
        model = strip(load(os.path.join(src, "service-2.json")))
        with open(os.path.join(ROOT, f"{service}.json"), "w", encoding="utf-8") as fh:
            json.dump(model, fh, indent=1, sort_keys=True)
            fh.write("\n")
        pag = os.path.join(src, "paginators-1.json")
        if os.path.exists(pag) or os.path.exists(pag + ".gz"):
            with open(os.path.join(ROOT, f"{service}.paginators.json"), "w", encoding="utf-8") as fh:
                json.dump(load(pag), fh, indent=1, sort_keys=True)
                fh.write("\n")
    version = os.path.join(ROOT, "VERSION")
    kept = []
    if os.path.exists(version):
        with open(version, encoding="utf-8") as fh:
            kept = [line for line in fh if line.startswith("athena-rest-json.json")]
    with open(version, "w", encoding="utf-8") as fh:
        fh.write(f"botocore {botocore.__version__}\n")
        fh.writelines(kept)
    print(f"vendored {', '.join(SERVICES)} from botocore {botocore.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
