#!/usr/bin/env python3
"""Refresh model/ from the installed botocore: copies the service models the
emulator serves, strips documentation strings, and records the botocore version.

Usage: python scripts/vendor_models.py   (with botocore importable, e.g. the test venv)
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


def main():
    data = os.path.join(os.path.dirname(botocore.__file__), "data")
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
    with open(os.path.join(ROOT, "VERSION"), "w", encoding="utf-8") as fh:
        fh.write(f"botocore {botocore.__version__}\n")
    print(f"vendored {', '.join(SERVICES)} from botocore {botocore.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
