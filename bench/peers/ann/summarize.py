"""Reads the CSV lines of every ANN driver and prints, per system, the build time and the best
single-thread queries/s among settings reaching recall@10 >= 0.90 / 0.95 / 0.99, then Loom's
ratios to native hnswlib."""
import csv
import sys

TARGETS = (0.90, 0.95, 0.99)


def main(paths):
    rows = {}
    for p in paths:
        with open(p) as f:
            for r in csv.reader(f):
                if len(r) != 7:
                    continue
                rows.setdefault(r[0], []).append(
                    dict(setting=r[1], wall=float(r[2]), cpu=float(r[3]), recall=float(r[4]),
                         qps=float(r[5]), bpv=float(r[6])))
    best = {}
    print(f"{'system':<16}{'build s':>9}{'build cpu s':>13}{'bytes/vec':>11}" +
          "".join(f"{'QPS@' + format(t, '.2f'):>16}" for t in TARGETS))
    for name, rs in rows.items():
        cells = []
        for t in TARGETS:
            ok = [r for r in rs if r["recall"] >= t]
            b = max(ok, key=lambda r: r["qps"]) if ok else None
            best[(name, t)] = b["qps"] if b else None
            cells.append(f"{b['qps']:.0f} ({b['setting']})" if b else "-")
        r0 = rs[0]
        print(f"{name:<16}{r0['wall']:>9.1f}{r0['cpu']:>13.1f}{r0['bpv']:>11.0f}" + "".join(f"{c:>16}" for c in cells))
    if "hnswlib" in rows:
        base_cpu = rows["hnswlib"][0]["cpu"]
        for name in rows:
            if not name.startswith("loom"):
                continue
            ratios = []
            for t in TARGETS:
                a, b = best.get((name, t)), best.get(("hnswlib", t))
                ratios.append(f"{a / b:.2f}x" if a and b else "-")
            print(f"{name} vs hnswlib: QPS ratio at 0.90/0.95/0.99 = {' / '.join(ratios)}; "
                  f"build CPU ratio {rows[name][0]['cpu'] / base_cpu:.2f} (below 1 = faster)")


if __name__ == "__main__":
    main(sys.argv[1:])
