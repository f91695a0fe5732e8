#!/usr/bin/python3
"""Golden for tests/eval/classification_test.cpp: scikit-learn's metrics on fixed label vectors.

Three classes, 40 seeded random examples with a skew, plus a 4-class case where class 3 is never
predicted and never true (sklearn's zero_division=0: precision, recall and F1 0). Writes
classification_metrics.json: per case the labels, accuracy_score, precision_recall_fscore_support
(average=None, labels=range(k), zero_division=0), f1_score(average="macro") and confusion_matrix.
Run: /usr/bin/python3 tests/reference/eval/classification_metrics_golden.py   (Debian python3-sklearn)
"""
import os
import sys

import numpy as np
from sklearn import metrics

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common.golden_io import write_json  # noqa: E402


def case(name, truth, pred, k):
    labels = list(range(k))
    p, r, f, s = metrics.precision_recall_fscore_support(truth, pred, labels=labels, average=None,
                                                         zero_division=0)
    return {"name": name, "num_labels": k, "truth": [int(x) for x in truth],
            "predicted": [int(x) for x in pred],
            "accuracy": metrics.accuracy_score(truth, pred),
            "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(),
            "support": [int(x) for x in s],
            "macro_f1": metrics.f1_score(truth, pred, labels=labels, average="macro",
                                         zero_division=0),
            "confusion": metrics.confusion_matrix(truth, pred, labels=labels).tolist()}


rng = np.random.default_rng(13)
truth = rng.choice(3, size=40, p=[0.5, 0.3, 0.2])
pred = np.where(rng.random(40) < 0.6, truth, rng.choice(3, size=40))
cases = [case("three_classes", truth, pred, 3),
         case("absent_class", [0, 1, 2, 2, 1, 0, 0, 2], [0, 2, 2, 1, 1, 0, 1, 2], 4)]
write_json(os.path.join(HERE, "classification_metrics.json"), {"cases": cases}, indent=1)
print("wrote", len(cases), "cases")
