#!/usr/bin/python3
"""spm_train Unigram goldens for Loom's Unigram trainer, one per corpus of ../shared/data.

Run from the repository root:
  tests/reference/text/build_spm_fixed.sh /tmp/spmfix    # prints /tmp/spmfix/build/src/spm_train
  /usr/bin/python3 tests/reference/text/sp_unigram_compare.py --fixed /tmp/spmfix/build/src/spm_train [DATA_DIR]

For each case below, trains spm_train (identity normalisation, no sampling, no shuffling) on the
first `lines` lines of the corpus (all when 0) and records every piece with its score, in id
order, in tests/reference/text/sp_unigram_compare.json. Two references:
  legacy  Debian 12's spm_train (sentencepiece 0.1.97), whose pruning multiplies by the number of
          all pieces (sentencepiece issue #628): Loom with legacy_prune_total must equal it.
  fixed   the same source with upstream's fix for #628 (build_spm_fixed.sh): Loom's default must
          equal it.
tests/text/unigram_trainer_test.cpp trains Loom on the same lines and asserts the same pieces, in
the same order, with bit-identical float scores.
"""
import json
import os
import subprocess
import sys
import tempfile

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
FIXED = sys.argv[sys.argv.index("--fixed") + 1] if "--fixed" in sys.argv else None
if FIXED in ARGS:
    ARGS.remove(FIXED)
DATA = ARGS[0] if ARGS else os.path.join(HERE, "..", "..", "..", "..", "shared", "data")

# name, corpus, first lines (0: all), vocab, character coverage, num_threads, reference
CASES = [
    ("ptb_valid", "corpora/ptb/ptb.valid.txt", 0, 1000, 1.0, 16, "legacy"),
    ("ptb_valid_fixed", "corpora/ptb/ptb.valid.txt", 1500, 800, 1.0, 16, "fixed"),
    ("wikitext2_scripts", "corpora/wikitext-2-raw/wiki.test.raw", 1500, 800, 1.0, 16, "legacy"),
    ("lee_coverage", "corpora/gensim-lee/lee_background.cor", 0, 1000, 0.9995, 16, "legacy"),
    ("foldoc_fixed", "corpora/foldoc/foldoc.tsv", 1500, 1000, 0.9995, 16, "fixed"),
    ("shakespeare_one_thread", "corpora/tinyshakespeare/input.txt", 4000, 500, 0.9995, 1, "legacy"),
    ("tinystories", "corpora/tinystories/tinystories_sample.txt", 0, 200, 1.0, 16, "legacy"),
]


def first_lines(path, n):
    data = open(path, "rb").read()
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    return lines if n == 0 else lines[:n]


def train(binary, lines, vocab, coverage, threads, tmp):
    text = os.path.join(tmp, "input.txt")
    with open(text, "wb") as f:
        f.write(b"".join(l + b"\n" for l in lines))
    prefix = os.path.join(tmp, "m")
    subprocess.run([binary, "--input=" + text, "--model_prefix=" + prefix,
                    "--model_type=unigram", "--vocab_size=%d" % vocab,
                    "--normalization_rule_name=identity", "--character_coverage=%g" % coverage,
                    "--num_threads=%d" % threads, "--shuffle_input_sentence=false",
                    "--input_sentence_size=0", "--minloglevel=2"],
                   check=True, stderr=subprocess.DEVNULL)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    return [[sp.id_to_piece(i), sp.get_score(i)] for i in range(3, sp.get_piece_size())]


def main():
    if FIXED is None:
        sys.exit("give --fixed PATH: the spm_train build_spm_fixed.sh prints")
    cases = []
    for name, corpus, n, vocab, coverage, threads, ref in CASES:
        lines = first_lines(os.path.join(DATA, corpus), n)
        with tempfile.TemporaryDirectory() as tmp:
            pieces = train("spm_train" if ref == "legacy" else FIXED, lines, vocab, coverage,
                           threads, tmp)
        cases.append({"name": name, "corpus": corpus, "lines": len(lines), "vocab_size": vocab,
                      "character_coverage": coverage, "num_threads": threads, "reference": ref,
                      "pieces": pieces})
        print("%s: %d pieces from %d lines" % (name, len(pieces) + 3, len(lines)))
    out = {"format_version": 1,
           "spm_train": "sentencepiece 0.1.97 (Debian 12 spm_train; fixed: its source with the "
                        "upstream #628 pruning fix), --model_type=unigram "
                        "--normalization_rule_name=identity --shuffle_input_sentence=false "
                        "--input_sentence_size=0",
           "cases": cases}
    with open(os.path.join(HERE, "sp_unigram_compare.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
