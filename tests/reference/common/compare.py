#!/usr/bin/env python3
"""Compares a regenerated golden with the committed one: exit 0 when they are bit-identical,
otherwise prints the largest difference (absolute, and relative to the largest magnitude of the
same tensor / JSON array) and exits 1.

  /usr/bin/python3 tests/reference/common/compare.py OLD NEW   (a .json, a .bin/.txt tensor
                                                               golden, or any other file: bytes)
"""
import json
import sys

import numpy as np


def tensor_golden(path):
    stem = path[:-4]
    raw = open(stem + ".bin", "rb").read()
    out, skip = {}, 0
    for line in open(stem + ".txt"):
        f = line.split()
        if f[0] == "format_version":
            skip = 16  # the .bin header of format 1 (tests/golden_tensors.h)
            continue
        if f[0] == "config":
            continue
        off, n = int(f[1]), int(f[2])
        out[f[0]] = np.frombuffer(raw[skip + off * 4:skip + (off + n) * 4], dtype="<f4").astype(np.float64)
    return out


def json_arrays(obj, prefix="", out=None):
    """Numeric leaves of a JSON value grouped by path (lists of numbers become one array)."""
    out = {} if out is None else out
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k != "format_version":
                json_arrays(v, prefix + "/" + k, out)
    elif isinstance(obj, list) and obj and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                               for v in obj):
        out[prefix] = np.array(obj, dtype=np.float64)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            json_arrays(v, f"{prefix}[{i}]", out)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out[prefix] = np.array([obj], dtype=np.float64)
    else:
        out[prefix] = obj
    return out


def main():
    old, new = sys.argv[1], sys.argv[2]
    if open(old, "rb").read() == open(new, "rb").read() and not old.endswith((".bin", ".txt")):
        print(f"{new}: identical")
        return 0
    if old.endswith(".json"):
        a, b = json_arrays(json.load(open(old))), json_arrays(json.load(open(new)))
    elif old.endswith((".bin", ".txt")):
        a, b = tensor_golden(old), tensor_golden(new)
    else:
        print(f"{new}: bytes differ")
        return 1
    if a.keys() != b.keys():
        print(f"{new}: different fields: {sorted(set(a) ^ set(b))[:5]}")
        return 1
    worst_abs, worst_rel, where, same = 0.0, 0.0, "", True
    for k in a:
        x, y = a[k], b[k]
        if not isinstance(x, np.ndarray):
            if x != y:
                print(f"{new}: {k} differs: {x!r} vs {y!r}")
                return 1
            continue
        if x.shape != y.shape:
            print(f"{new}: {k} has {x.size} values, {y.size} in the new one")
            return 1
        if np.array_equal(x, y):
            continue
        same = False
        d = np.abs(x - y).max()
        rel = d / max(np.abs(x).max(), 1e-300)
        if rel > worst_rel:
            worst_abs, worst_rel, where = d, rel, k
    if same:
        print(f"{new}: every value identical")
        return 0
    print(f"{new}: max |diff| {worst_abs:.3e}, max |diff| / max |value| {worst_rel:.3e} (at {where})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
