#!/usr/bin/python3
"""SentencePiece goldens from libsentencepiece (Debian python3-sentencepiece 0.1.97).

Run from the repository root:  /usr/bin/python3 tests/reference/text/sp_reference.py [DATA_DIR] [--retrain]

1. Trains a small Unigram model with spm_train (Debian `sentencepiece`) on tinyshakespeare,
   vocab 1000, default nmt_nfkc normalisation (so the precompiled charsmap is exercised), one
   thread and no sampling so the run is deterministic -> tests/reference/text/sp_unigram1k.model.
2. For each model (Llama 2 tokenizer.model, stories260K tok512.model, the Unigram model) and each
   corpus, encodes every line with `sp.encode(line)` (no BOS/EOS) and writes
   tests/reference/text/sp_golden_<model>.json with, per corpus: the line count, the total token
   count, an FNV-1a-64 digest per block of 256 lines and the full ids of the first
   lines (up to 50 lines or about 3000 ids).

Line convention (the `loom tokenize --ids` scripting contract): split the file on b"\\n" only;
each line without its "\\n" is one document ("\\r" stays); empty lines count; a final "\\n" does
not start an extra empty line.

Digest of a block: FNV-1a-64 over, for each line in order, the number of ids then the ids, each
as uint32 little-endian.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
DATA = ARGS[0] if ARGS else os.path.join(HERE, "..", "..", "..", "..", "shared", "data")

CORPORA = [
    ("tinyshakespeare", "corpora/tinyshakespeare/input.txt"),
    ("ptb_valid", "corpora/ptb/ptb.valid.txt"),
    ("ptb_test", "corpora/ptb/ptb.test.txt"),
    ("wikitext2_test", "corpora/wikitext-2-raw/wiki.test.raw"),
    ("tinystories", "corpora/tinystories/tinystories_sample.txt"),
    ("lee_background", "corpora/gensim-lee/lee_background.cor"),
    ("lee", "corpora/gensim-lee/lee.cor"),
    ("foldoc", "corpora/foldoc/foldoc.tsv"),
]
BLOCK = 256
FIRST = 50  # full ids of up to the first 50 lines, stopping once ~3000 ids are kept
FIRST_IDS_BUDGET = 3000
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a(h, data):
    for b in data:
        h ^= b
        h = (h * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def split_lines(data):
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    return lines


def golden_for(sp, path):
    lines = split_lines(open(path, "rb").read())
    all_ids = sp.encode(lines)  # bytes: invalid UTF-8 (lee.cor has Latin-1) goes in as is
    blocks = []
    total = 0
    for b in range(0, len(all_ids), BLOCK):
        h = FNV_OFFSET
        for ids in all_ids[b:b + BLOCK]:
            h = fnv1a(h, struct.pack("<I", len(ids)))
            h = fnv1a(h, struct.pack("<%dI" % len(ids), *ids))
            total += len(ids)
        blocks.append("%016x" % h)
    first, budget = [], FIRST_IDS_BUDGET
    for ids in all_ids[:FIRST]:
        if budget <= 0:
            break
        first.append(ids)
        budget -= len(ids)
    return {"lines": len(lines), "tokens": total, "block_digests": blocks, "first_ids": first}


# Adversarial texts for the randomized comparison: whitespace runs, NFKC-sensitive characters,
# CJK, emoji with modifiers, the U+2581 symbol itself, piece spellings, NUL and invalid UTF-8.
ATOMS = [b" ", b"  ", b"\t", b"\r", b"\n", b"a", b"b", b"e", b"t", b"the", b"ing", b"Hello",
         b"0", b"7", b"12345", b".", b",", b"'", b"-", b"---", b"\\/", b"\x00", b"\xc3\xa9",
         "\ufb01".encode(), "\u2460".encode(), "\uff21".encode(), "\u4f60\u597d".encode(),
         "\U0001f44d\U0001f3fd".encode(), "\u200d".encode(), "\u3000".encode(),
         "\u2581".encode(), "e\u0301".encode(), "\u00a0".encode(), "\u1780".encode(),
         b"<s>", b"</s>", b"<unk>", b"<0x41>", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
         b"\xe2\x82", b"\xc0\xaf"]


def random_texts(n=200, seed=1234):
    import random
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        k = rng.randint(0, 12)
        texts.append(b"".join(rng.choice(ATOMS) for _ in range(k)))
    return texts


# Tiny hand-built models exercising what the real ones lack: USER_DEFINED pieces (kept whole,
# unnormalised, never merged; the Unigram bonus), UNUSED pieces (BPE re-splits them), unknowns.
def _varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def _field(num, wire, payload):
    return _varint(num << 3 | wire) + payload


def _bytes(num, b):
    return _field(num, 2, _varint(len(b)) + b)


def _piece(p, score, t=None):
    m = _bytes(1, p.encode()) + _field(2, 5, struct.pack("<f", score))
    if t is not None:
        m += _field(3, 0, _varint(t))
    return _bytes(1, m)


def tiny_model(model_type):
    NORMAL, UNK, CONTROL, USER, UNUSED = 1, 2, 3, 4, 5
    m = _piece("<unk>", 0, UNK) + _piece("<s>", 0, CONTROL) + _piece("</s>", 0, CONTROL)
    m += _piece("<sep>", 0, USER) + _piece("@@", 0, USER)
    normal = ["\u2581", "a", "b", "c", "d", "\u2581a", "ab", "cd", "\u2581ab", "bc", "\u2581abcd",
              "da", "\u2581c"]
    for i, p in enumerate(normal):
        m += _piece(p, -1.0 - 0.5 * i)
    m += _piece("abc", -0.2, UNUSED) + _piece("\u2581abc", -0.1, NORMAL)
    m += _bytes(2, _field(3, 0, _varint(model_type)) + _field(4, 0, _varint(20)))
    m += _bytes(3, _bytes(1, b"identity") + _field(3, 0, _varint(1)) + _field(4, 0, _varint(1)))
    return m


TINY_TEXTS = ["abc abcd", "a<sep>b", "<sep><sep>abc", "ab  cd", "dcba", "abcabc", "xyz abc",
              " @@abc@@ ", "abcd<sep>dabc", "cabcd", "", "   ", "a@b<sep", "\u2581abc"]


def tiny_goldens():
    out = []
    for name, t in (("bpe", 2), ("unigram", 1)):
        blob = tiny_model(t)
        sp = spm.SentencePieceProcessor(model_proto=blob)
        out.append({"name": name, "model_hex": blob.hex(),
                    "cases": [{"text": x, "ids": sp.encode(x)} for x in TINY_TEXTS]})
    return out


def train_unigram(out_model):
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "uni")
        # Run inside DATA so the model records a relative input path.
        subprocess.run(["spm_train", "--input=corpora/tinyshakespeare/input.txt",
                        "--model_prefix=" + prefix, "--model_type=unigram", "--vocab_size=1000",
                        "--num_threads=1", "--shuffle_input_sentence=false",
                        "--input_sentence_size=0", "--character_coverage=1.0",
                        "--minloglevel=2"], check=True, stderr=subprocess.DEVNULL, cwd=DATA)
        with open(prefix + ".model", "rb") as f:
            blob = f.read()
    with open(out_model, "wb") as f:
        f.write(blob)


def main():
    uni = os.path.join(HERE, "sp_unigram1k.model")
    if not os.path.exists(uni) or "--retrain" in sys.argv:
        train_unigram(uni)
    models = [
        ("llama2", os.path.join(DATA, "tokenizers/llama2/tokenizer.model")),
        ("tok512", os.path.join(DATA, "models/stories260K/tok512.model")),
        ("unigram1k", uni),
    ]
    with open(os.path.join(HERE, "sp_golden_tiny.json"), "w") as f:
        json.dump({"format_version": 1,  # common/golden_io.py's FORMAT_VERSION
                   "source": "python3-sentencepiece " + spm.__version__ + ", models built by "
                   "sp_reference.py tiny_model()", "models": tiny_goldens()}, f, indent=0)
        f.write("\n")
    for name, model in models:
        sp = spm.SentencePieceProcessor(model_file=model)
        out = {"model": name, "source": "python3-sentencepiece " + spm.__version__ +
               ": sp.encode(line), no BOS/EOS", "block_lines": BLOCK, "corpora": {}}
        for cname, rel in CORPORA:
            out["corpora"][cname] = golden_for(sp, os.path.join(DATA, rel))
            print(name, cname, out["corpora"][cname]["lines"], out["corpora"][cname]["tokens"])
        texts = random_texts()
        out["random"] = [{"hex": t.hex(), "ids": ids, "decoded_hex": sp.decode(ids).encode().hex()}
                         for t, ids in zip(texts, sp.encode(texts))]
        with open(os.path.join(HERE, "sp_golden_%s.json" % name), "w") as f:
            json.dump({"format_version": 1, **out}, f, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
