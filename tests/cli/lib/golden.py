"""JSON goldens of tests/reference for the CLI scripts: load_golden(path) checks the format
version (tests/reference/common/golden_io.py's FORMAT_VERSION, tests/golden_json.h's
kGoldenFormatVersion) and fails naming the file otherwise."""
import json
import sys

FORMAT_VERSION = 1


def load_golden(path):
    g = json.load(open(path))
    v = g.get("format_version") if isinstance(g, dict) else None
    if v != FORMAT_VERSION:
        sys.exit(f"FAIL: {path}: golden format_version {v}, the tests read {FORMAT_VERSION}; "
                 "regenerate it with its script in tests/reference")
    return g
