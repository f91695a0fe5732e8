#!/usr/bin/python3
"""Golden for tests/eval/classification_test.cpp's entity metrics: seqeval's default scoring.

seqeval is not among Debian's packages, so this is a re-implementation of seqeval 1.2.2's
sequence_labeling.get_entities (default, non-strict mode: end_of_chunk / start_of_chunk, nested
lists joined with an 'O' after each sentence) and of its micro precision/recall/F1 and per-type
scores (types of the true or predicted entities; 0 where a ratio is undefined). The docstring
examples of seqeval (f1 0.50, the MISC/PER report) are asserted here, then cases are written:
those examples, IOBES tags, I- after O and type changes, bare B/I tags, and 30 seeded random
sentences with a noisy copy as the prediction. Writes entity_metrics.json.
Run: /usr/bin/python3 tests/reference/eval/entity_metrics_golden.py
"""
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/reference
from common.golden_io import write_json  # noqa: E402


def end_of_chunk(prev_tag, tag, prev_type, type_):
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def start_of_chunk(prev_tag, tag, prev_type, type_):
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def get_entities(sentences):
    seq = [t for s in sentences for t in s + ["O"]]
    prev_tag, prev_type, begin, chunks = "O", "", 0, []
    for i, chunk in enumerate(seq + ["O"]):
        tag = chunk[0]
        type_ = chunk[1:].split("-", maxsplit=1)[-1] or "_"
        if end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return set(chunks)


def prf(correct, pred, true):
    p = correct / pred if pred else 0.0
    r = correct / true if true else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "correct": correct, "predicted": pred, "truth": true}


def case(name, truth, pred):
    t, p = get_entities(truth), get_entities(pred)
    types = sorted({e[0] for e in t} | {e[0] for e in p})
    per = {ty: prf(len({e for e in t & p if e[0] == ty}), len({e for e in p if e[0] == ty}),
                   len({e for e in t if e[0] == ty})) for ty in types}
    flat = [(a, b) for s, q in zip(truth, pred) for a, b in zip(s, q)]
    return {"name": name, "truth": truth, "predicted": pred,
            "token_accuracy": sum(a == b for a, b in flat) / len(flat),
            "micro": prf(len(t & p), len(p), len(t)), "types": per}


doc_true = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
doc_pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
doc = case("seqeval_docstring", doc_true, doc_pred)
assert abs(doc["micro"]["f1"] - 0.5) < 1e-12 and doc["types"]["PER"]["f1"] == 1.0
assert doc["types"]["MISC"]["f1"] == 0.0
assert get_entities([["B-PER", "I-PER", "O", "B-LOC"]]) == {("PER", 0, 1), ("LOC", 3, 3)}

cases = [
    doc,
    case("iobes", [["S-LOC", "B-PER", "E-PER", "O", "B-ORG", "I-ORG", "E-ORG"]],
         [["S-LOC", "B-PER", "I-PER", "O", "B-ORG", "E-ORG", "E-ORG"]]),
    case("i_after_o_and_type_change", [["O", "I-PER", "I-PER", "I-LOC", "O", "B-LOC"]],
         [["I-PER", "I-PER", "B-PER", "I-LOC", "I-LOC", "O"]]),
    case("bare_tags", [["B", "I", "O", "B", "B"]], [["B", "I", "O", "I", "B"]]),
    case("across_sentences", [["B-X", "I-X"], ["I-X", "O"]], [["B-X", "I-X"], ["B-X", "O"]]),
]
rng = random.Random(13)
tags = ["O", "O", "O", "B-TERM", "I-TERM", "B-PER", "I-PER", "I-LOC", "B-LOC"]
truth, pred = [], []
for _ in range(30):
    s = [rng.choice(tags) for _ in range(rng.randint(1, 12))]
    truth.append(s)
    pred.append([t if rng.random() < 0.8 else rng.choice(tags) for t in s])
cases.append(case("random", truth, pred))
write_json(os.path.join(HERE, "entity_metrics.json"), {"cases": cases}, indent=1)
print("cases", len(cases), "random micro f1", cases[-1]["micro"]["f1"])
