#!/usr/bin/env python3
"""Tables from store_bench's lines (system<TAB>what<TAB>value<TAB>unit), one file per data set:
ingest, search latency p50/p99 unfiltered and filtered, nDCG@10, and the FTS5/Loom ratios.
   summarize.py NAME=FILE.tsv ..."""
import sys


def read(path):
    vals = {}
    with open(path) as f:
        for line in f:
            sys_, what, value, _unit = line.rstrip("\n").split("\t")
            vals[(sys_, what)] = float(value)
    return vals


def row(v, sys_, mode, ingest):
    cells = [f"{sys_} {mode}",
             f"{v[(sys_, ingest)]:.0f} / {v[(sys_, ingest + ' cpu')]:.0f}" if ingest else ""]
    for what in (mode, mode + " filtered"):
        cells.append(f"{v[(sys_, what + ' cpu p50')]:.3f} / {v[(sys_, what + ' cpu p99')]:.3f}")
    for what in (mode, mode + " filtered"):
        cells.append(f"{v[(sys_, what + ' p50')]:.3f} / {v[(sys_, what + ' p99')]:.3f}")
    cells.append(f"{v[(sys_, mode + ' ndcg@10')]:.4f}")
    return "| " + " | ".join(cells) + " |"


def table(name, v):
    print(f"\n{name}: {v[('data', 'documents')]:.0f} documents, {v[('data', 'queries')]:.0f} "
          f"queries, filter keeps {v[('data', 'filter keeps')]:.1f} % of the documents")
    print("| system / search | ingest docs/s (wall / CPU) | CPU ms p50 / p99 "
          "| filtered CPU ms p50 / p99 | wall ms p50 / p99 | filtered wall ms p50 / p99 "
          "| nDCG@10 |")
    print("|---|---|---|---|---|---|---|")
    ftss = sorted({s for s, _ in v if s.startswith("fts5")})
    for s in ftss:
        print(row(v, s, "bm25", "ingest (SQLite FTS5)"))
    for i, mode in enumerate(("bm25", "vector", "hybrid")):
        print(row(v, "loom", mode, "ingest total" if i == 0 else ""))
    if ("loom-stem", "bm25 p50") in v:
        print(row(v, "loom-stem", "bm25", ""))
    parts = [(w, ("loom", w)) for w in ("embedding", "store writes (SQLite + HNSW + BM25)")]
    print("loom ingest in parts (docs/s wall / per CPU-s): "
          + "; ".join(f"{w} {v[k]:.0f} / {v[k[0], k[1] + ' cpu']:.0f}" for w, k in parts)
          + ". Stores: " + ", ".join(f"{s} {v[(s, 'store size')]:.2f} MB" for s in ftss + ["loom"]))
    looms = ["loom"] + (["loom-stem"] if ("loom-stem", "bm25 p50") in v else [])
    for s in ftss:
        for lm in looms:
            r = [v[(s, f"bm25{f} cpu {p}")] / v[(lm, f"bm25{f} cpu {p}")]
                 for f in ("", " filtered") for p in ("p50", "p99")]
            print(f"{s} / {lm} bm25 latency: p50 {r[0]:.2f}x, p99 {r[1]:.2f}x, filtered p50 "
                  f"{r[2]:.2f}x, filtered p99 {r[3]:.2f}x (CPU time; above 1: Loom is faster); "
                  f"nDCG@10 {v[(s, 'bm25 ndcg@10')]:.4f} vs {v[(lm, 'bm25 ndcg@10')]:.4f}")


for arg in sys.argv[1:]:
    name, path = arg.split("=", 1)
    table(name, read(path))
