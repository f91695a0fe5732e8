#!/usr/bin/env python3
"""Porter (1980) stems for the golden word list, written from the paper, with a cross-check
against SQLite FTS5's porter tokenizer.

This reference computes the paper's notation differently from src/retrieval/porter.cpp: it maps a
word to its C/V pattern string once and reads m, *v*, *d and *o from that string with regular
expressions. Rules are tried in the paper's order with "the longest matching suffix decides".

Writes porter_golden.tsv (word TAB stem) beside this script: the paper's own examples followed by
words sampled from the Cranfield corpus (every 23rd distinct a-z word of length >= 3, sorted).
Prints how many stems FTS5's porter tokenizer gives differently (it follows Porter's later C code
in a few rules, e.g. BLI -> BLE and LOGI -> LOG) and lists them.

Run from the repository root: /usr/bin/python3 tests/reference/retrieval/porter/porter_reference.py
"""
import json
import os
import re
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("DATA_DIR", "../shared/data")


def pattern(w):
    out = []
    for i, ch in enumerate(w):
        if ch in "aeiou":
            out.append("v")
        elif ch == "y":
            out.append("v" if i > 0 and out[i - 1] == "c" else "c")
        else:
            out.append("c")
    return "".join(out)


def m(stem):
    return len(re.findall(r"v+c+", pattern(stem)))


def has_v(stem):
    return "v" in pattern(stem)


def ends_dbl(stem):
    return len(stem) >= 2 and stem[-1] == stem[-2] and pattern(stem)[-1] == "c"


def ends_cvc(stem):
    return pattern(stem).endswith("cvc") and stem[-1] not in "wxy"


def rule_step(w, rules, cond):
    for suf, rep in sorted(rules, key=lambda r: -len(r[0])):
        if w.endswith(suf):
            stem = w[: len(w) - len(suf)]
            return stem + rep if cond(stem, suf) else w
    return w


STEP2 = [("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"),
         ("izer", "ize"), ("abli", "able"), ("alli", "al"), ("entli", "ent"), ("eli", "e"),
         ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"), ("ator", "ate"),
         ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"),
         ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble")]
STEP3 = [("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"),
         ("ful", ""), ("ness", "")]
STEP4 = ["al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion",
         "ou", "ism", "ate", "iti", "ous", "ive", "ize"]


def step1b(w):
    if w.endswith("eed"):
        return w[:-1] if m(w[:-3]) > 0 else w
    for suf in ("ed", "ing"):
        if w.endswith(suf) and has_v(w[: -len(suf)]):
            w = w[: -len(suf)]
            if w[-2:] in ("at", "bl", "iz"):
                return w + "e"
            if ends_dbl(w) and w[-1] not in "lsz":
                return w[:-1]
            if m(w) == 1 and ends_cvc(w):
                return w + "e"
            return w
    return w


def stem(w):
    if len(w) <= 2 or not re.fullmatch(r"[a-z]+", w):
        return w
    w = rule_step(w, [("sses", "ss"), ("ies", "i"), ("ss", "ss"), ("s", "")], lambda s, x: True)
    w = step1b(w)
    if w.endswith("y") and has_v(w[:-1]):
        w = w[:-1] + "i"
    w = rule_step(w, STEP2, lambda s, x: m(s) > 0)
    w = rule_step(w, STEP3, lambda s, x: m(s) > 0)
    w = rule_step(w, [(s, "") for s in STEP4],
                  lambda s, x: m(s) > 1 and (x != "ion" or s[-1:] in ("s", "t")))
    if w.endswith("e"):
        s = w[:-1]
        if m(s) > 1 or (m(s) == 1 and not ends_cvc(s)):
            w = s
    if w.endswith("ll") and m(w) > 1:
        w = w[:-1]
    return w


# The examples printed in the paper, with the stems it gives for the step they illustrate
# carried through the remaining steps.
PAPER = """caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated
troubled sized hopping tanned falling hissing fizzed failing filing happy sky relational
conditional rational valenci hesitanci digitizer conformabli radicalli differentli vileli
analogousli vietnamization predication operator feudalism decisiveness hopefulness callousness
formaliti sensitiviti sensibiliti triplicate formative formalize electriciti electrical hopeful
goodness revival allowance inference airliner gyroscopic adjustable defensible irritant
replacement adjustment dependent adoption homologou communism activate angulariti homologous
effective bowdlerize probate rate cease controll roll generalizations oscillators connect
connected connecting connection connections""".split()


def corpus_words():
    words = set()
    with open(os.path.join(DATA, "retrieval/cranfield/corpus.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            words.update(re.findall(r"[a-z]+", (d["title"] + " " + d["text"]).lower()))
    return sorted(w for w in words if len(w) >= 3)[::23]


def fts5_stems(words):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter ascii')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    out = {}
    for w in words:
        db.execute("DELETE FROM t")
        db.execute("INSERT INTO t(x) VALUES (?)", (w,))
        out[w] = db.execute("SELECT term FROM v").fetchone()[0]
    return out


def main():
    words = list(dict.fromkeys(PAPER + corpus_words()))
    fts = fts5_stems(words)
    diff = [(w, stem(w), fts[w]) for w in words if stem(w) != fts[w]]
    with open(os.path.join(HERE, "porter_golden.tsv"), "w") as f:
        for w in words:
            f.write(f"{w}\t{stem(w)}\n")
    print(f"{len(words)} words; FTS5's porter differs on {len(diff)}:", file=sys.stderr)
    for w, ours, theirs in diff:
        print(f"  {w}: paper {ours}, fts5 {theirs}", file=sys.stderr)


if __name__ == "__main__":
    main()
