#!/usr/bin/python3
"""SST-2 baseline for scripts/sst2-demo.sh: bag-of-words logistic regression (scikit-learn).

Unigrams + bigrams (CountVectorizer(ngram_range=(1, 2)), lower-cased, binary counts), fitted on
train.tsv; C chosen from a grid by accuracy on dev.tsv; that model's accuracy on test.tsv.
Prints one line per C and a final line "baseline_test_accuracy X".
Usage: /usr/bin/python3 scripts/sst2_baseline.py SST2_DIR
"""
import csv
import sys

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence"] for r in rows], [int(r["label"]) for r in rows]


def main(d):
    (xtr, ytr), (xdv, ydv), (xte, yte) = (read(f"{d}/{s}.tsv") for s in ("train", "dev", "test"))
    vec = CountVectorizer(ngram_range=(1, 2), binary=True)
    ftr, fdv, fte = vec.fit_transform(xtr), vec.transform(xdv), vec.transform(xte)
    best = None
    for c in (0.1, 0.3, 1.0, 3.0, 10.0):
        clf = LogisticRegression(C=c, max_iter=2000).fit(ftr, ytr)
        acc = clf.score(fdv, ydv)
        print(f"C {c}: dev accuracy {acc:.4f}", flush=True)
        if best is None or acc > best[0]:
            best = (acc, c, clf)
    acc, c, clf = best
    print(f"chosen C {c} (dev {acc:.4f}); {len(vec.vocabulary_)} features")
    print(f"baseline_test_accuracy {clf.score(fte, yte):.4f}")


if __name__ == "__main__":
    main(sys.argv[1])
