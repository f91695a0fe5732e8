# Golden scores for tests/wordvec/evaluate_test.cpp, computed by gensim 4.2 (Debian python3-gensim):
#   /usr/bin/python3 tests/reference/wordvec/gensim_eval_golden.py [DATA_DIR]
# 1. Trains a small skip-gram model with gensim on English text from ../shared/data (one worker,
#    fixed seed) and writes it with gensim's own writers: golden_vectors.bin (word2vec binary,
#    every row) and golden_vectors_head.txt (word2vec text, the first 300 rows).
# 2. Loads golden_vectors.bin back with KeyedVectors.load_word2vec_format and scores it with
#    evaluate_word_analogies / evaluate_word_pairs on every file in DATA_DIR/wordsim, writing
#    gensim_eval_golden.json. Files whose score is not the third field (rw.txt, SimLex-999.txt)
#    are given to gensim as the three chosen fields of each line (what Loom's PairColumns reads);
#    a file gensim cannot score (no valid pair) is recorded with its error.
import json
import os
import sys
import tempfile

import numpy as np
from gensim.models import KeyedVectors, Word2Vec
from gensim.models.word2vec import LineSentence

# gensim seeds each word's initial vector from Python's string hash: fix it, or reruns differ.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

here = os.path.dirname(os.path.abspath(__file__))
data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../../../shared/data")
texts = ["corpora/foldoc/foldoc.tsv", "corpora/wikitext-2-raw/wiki.test.raw",
         "corpora/gensim-lee/lee_background.cor", "corpora/ptb/ptb.valid.txt",
         "corpora/ptb/ptb.test.txt", "corpora/tinyshakespeare/input.txt"]


class Corpus:
    def __iter__(self):
        for t in texts:
            yield from LineSentence(os.path.join(data, t))


model = Word2Vec(Corpus(), sg=1, vector_size=24, window=5, negative=5, min_count=5,
                 max_final_vocab=4000, workers=1, seed=1, epochs=5)
bin_path = os.path.join(here, "golden_vectors.bin")
model.wv.save_word2vec_format(bin_path, binary=True)
head = KeyedVectors(24)
head.add_vectors(model.wv.index_to_key[:300], model.wv.vectors[:300])
head.save_word2vec_format(os.path.join(here, "golden_vectors_head.txt"), binary=False)

kv = KeyedVectors.load_word2vec_format(bin_path, binary=True)
assert kv.index_to_key == model.wv.index_to_key
wordsim = os.path.join(data, "wordsim")

analogy_cases = [{"restrict_vocab": 300000, "case_insensitive": True},
                 {"restrict_vocab": 1000, "case_insensitive": True},
                 {"restrict_vocab": 300000, "case_insensitive": False}]
analogies = []
for case in analogy_cases:
    path = os.path.join(wordsim, "questions-words.txt")
    score, sections = kv.evaluate_word_analogies(path, **case)
    _, with_dummy = kv.evaluate_word_analogies(path, dummy4unknown=True, **case)
    questions = len(with_dummy[-1]["correct"]) + len(with_dummy[-1]["incorrect"])
    evaluated = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
    analogies.append(dict(case, file="questions-words.txt", questions=questions,
                          oov=questions - evaluated,
                          sections=[{"section": s["section"], "correct": len(s["correct"]),
                                     "incorrect": len(s["incorrect"])} for s in sections]))

# file, delimiter, columns (word1, word2, score)
pair_files = [("wordsim353.tsv", "\t", None), ("simlex999.txt", "\t", None),
              ("combined.csv", ",", None), ("wordsim_similarity_goldstandard.txt", "\t", None),
              ("wordsim_relatedness_goldstandard.txt", "\t", None), ("EN-MC-30.txt", "\t", None),
              ("EN-RG-65.txt", "\t", None), ("MEN_dataset_lemma_form_full", " ", None),
              ("rw.txt", "\t", [0, 1, 2]), ("SimLex-999.txt", "\t", [0, 1, 3])]
pair_cases = [{"restrict_vocab": 300000, "case_insensitive": True, "dummy4unknown": False},
              {"restrict_vocab": 500, "case_insensitive": True, "dummy4unknown": False},
              {"restrict_vocab": 300000, "case_insensitive": False, "dummy4unknown": True}]


def gensim_input(name, delim, cols):
    path = os.path.join(wordsim, name)
    if cols is None:
        return path, None
    tmp = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8")
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            parts = line.rstrip("\n").split(delim)
            if len(parts) > max(cols):
                tmp.write(delim.join(parts[c] for c in cols) + "\n")
    tmp.close()
    return tmp.name, tmp.name


pairs = []
for name, delim, cols in pair_files:
    for case in pair_cases:
        path, tmp = gensim_input(name, delim, cols)
        row = dict(case, file=name, delimiter=delim, columns=cols)
        try:
            pearson, spearman, oov_ratio = kv.evaluate_word_pairs(path, delimiter=delim, **case)
            finite = lambda x: None if np.isnan(x) else float(x)  # NaN -> null (strict JSON)
            row.update(pearson=finite(pearson[0]), spearman=finite(spearman[0]),
                       oov_ratio=float(oov_ratio))
        except ValueError as e:
            # gensim raises when no pair is scored; scipy's pearsonr when only one is.
            row.update(error="no valid pairs" if "No valid" in str(e) else "fewer than 2 pairs")
        if tmp:
            os.unlink(tmp)
        pairs.append(row)

with open(os.path.join(here, "gensim_eval_golden.json"), "w") as f:
    json.dump({"gensim": __import__("gensim").__version__, "numpy": np.__version__,
               "vectors": "golden_vectors.bin", "analogies": analogies, "pairs": pairs}, f,
              indent=1, allow_nan=False)
    f.write("\n")
print("vocab", len(kv), "analogy total", analogies[0]["sections"][-1], "pairs", len(pairs))
