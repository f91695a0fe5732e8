#!/usr/bin/python3
"""spm_train Unigram reference for Loom's Unigram trainer.

Run from the repository root:  /usr/bin/python3 tests/reference/text/sp_unigram_compare.py [DATA_DIR]

Trains Debian's spm_train (sentencepiece 0.1.97) on PTB valid (one sentence per line) with
vocab 1000, identity normalisation, full character coverage, one thread and no sampling, then
writes tests/reference/text/sp_unigram_compare.json: spm's pieces (ids 3..999, in id order) and
the mean number of tokens per line when libsentencepiece encodes every line of the corpus with
that model. tests/text/unigram_trainer_test.cpp trains Loom on the same lines and compares.
"""
import json
import os
import subprocess
import sys
import tempfile

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "..", "shared", "data")
CORPUS = "corpora/ptb/ptb.valid.txt"
VOCAB = 1000


def main():
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "uni")
        subprocess.run(["spm_train", "--input=" + CORPUS, "--model_prefix=" + prefix,
                        "--model_type=unigram", "--vocab_size=%d" % VOCAB,
                        "--normalization_rule_name=identity", "--character_coverage=1.0",
                        "--num_threads=1", "--shuffle_input_sentence=false",
                        "--input_sentence_size=0", "--minloglevel=2"],
                       check=True, stderr=subprocess.DEVNULL, cwd=DATA)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    data = open(os.path.join(DATA, CORPUS), "rb").read()
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    ids = sp.encode(lines)
    out = {
        "corpus": CORPUS,
        "vocab_size": VOCAB,
        "spm_train": "sentencepiece 0.1.97: --model_type=unigram --vocab_size=%d "
                     "--normalization_rule_name=identity --character_coverage=1.0 "
                     "--num_threads=1 --shuffle_input_sentence=false --input_sentence_size=0" % VOCAB,
        "lines": len(lines),
        "mean_tokens_per_line": sum(len(x) for x in ids) / len(lines),
        "pieces": [sp.id_to_piece(i) for i in range(3, sp.get_piece_size())],
    }
    with open(os.path.join(HERE, "sp_unigram_compare.json"), "w") as f:
        json.dump({"format_version": 1, **out}, f, ensure_ascii=False, indent=0)  # golden_io.py's
        f.write("\n")
    print("spm: %d pieces, %.3f tokens/line" % (len(out["pieces"]), out["mean_tokens_per_line"]))


if __name__ == "__main__":
    main()
