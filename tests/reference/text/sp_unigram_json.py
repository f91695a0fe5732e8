#!/usr/bin/python3
"""A Unigram tokenizer.json made honestly from a SentencePiece model, and its goldens.

Run from the repository root (needs Debian python3-sentencepiece and python3-protobuf, and
tests/reference/text/node_modules from `npm i -E` there):
    /usr/bin/python3 tests/reference/text/sp_unigram_json.py [DATA_DIR]

1. Reads tests/reference/text/sp_unigram1k.model (trained by spm_train in sp_reference.py: Unigram,
   vocab 1000, nmt_nfkc) with python3-sentencepiece's protobuf classes and converts it to
   tests/reference/text/sp_unigram1k.tokenizer.json the way Hugging Face's SpmConverter does
   (transformers' convert_slow_tokenizer.py):
     model         Unigram, vocab [[piece, score], ...] in id order, unk_id, byte_fallback
     normalizer    Sequence[Precompiled(the model's precompiled_charsmap, base64),
                            Strip(right), Replace(" {2,}" -> "\u2581")]
     pre_tokenizer Metaspace("\u2581", prepend_scheme "always" when add_dummy_prefix, split)
     decoder       Metaspace with the same settings
     added_tokens  the CONTROL pieces (special) and USER_DEFINED pieces, normalized false
2. Encodes every line of every corpus with libsentencepiece (sp.encode(line)) and hands the ids to
   hf_unigram_golden.js, which loads the tokenizer.json in Hugging Face tokenizers (npm
   @anush008/tokenizers), writes hf_goldens/unigram1k__<corpus>.json (same format as
   hf_tokenizers_golden.js) and hf_goldens/unigram1k_spm_vs_hf.json: per corpus, the lines on
   which HF's ids differ from libsentencepiece's, with the first few.
Line convention as hf_tokenizers_golden.js (UTF-8 with U+FFFD for invalid bytes, split on "\\n").
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as pb

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "..", "shared", "data")
MODEL = os.path.join(HERE, "sp_unigram1k.model")
OUT = os.path.join(HERE, "sp_unigram1k.tokenizer.json")
CORPORA = {
    "tinyshakespeare": "corpora/tinyshakespeare/input.txt",
    "ptb_valid": "corpora/ptb/ptb.valid.txt",
    "ptb_test": "corpora/ptb/ptb.test.txt",
    "wikitext2_test": "corpora/wikitext-2-raw/wiki.test.raw",
    "tinystories": "corpora/tinystories/tinystories_sample.txt",
    "lee_background": "corpora/gensim-lee/lee_background.cor",
    "lee": "corpora/gensim-lee/lee.cor",
    "foldoc": "corpora/foldoc/foldoc.tsv",
}
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def convert(proto):
    ns = proto.normalizer_spec
    rep = "\u2581"
    scheme = "always" if ns.add_dummy_prefix else "never"
    normalizers = [{"type": "Strip", "strip_left": False, "strip_right": True},
                   {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": rep}]
    if ns.precompiled_charsmap:
        normalizers.insert(0, {"type": "Precompiled", "precompiled_charsmap":
                               base64.b64encode(ns.precompiled_charsmap).decode("ascii")})
    added = [{"id": i, "content": p.piece, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": p.type == CONTROL}
             for i, p in enumerate(proto.pieces) if p.type in (CONTROL, USER_DEFINED)]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": {"type": "Metaspace", "replacement": rep, "prepend_scheme": scheme,
                          "split": True},
        "post_processor": None,
        "decoder": {"type": "Metaspace", "replacement": rep, "prepend_scheme": scheme,
                    "split": True},
        "model": {"type": "Unigram", "unk_id": proto.trainer_spec.unk_id,
                  "vocab": [[p.piece, p.score] for p in proto.pieces],
                  "byte_fallback": proto.trainer_spec.byte_fallback},
    }


def main():
    blob = open(MODEL, "rb").read()
    proto = pb.ModelProto()
    proto.ParseFromString(blob)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(convert(proto), f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.relpath(OUT), os.path.getsize(OUT), "bytes")
    sp = spm.SentencePieceProcessor(model_proto=blob)
    with tempfile.TemporaryDirectory() as tmp:
        for name, rel in CORPORA.items():
            text = open(os.path.join(DATA, rel), "rb").read().decode("utf-8", errors="replace")
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            with open(os.path.join(tmp, name + ".json"), "w") as f:
                json.dump({"corpus": rel, "ids": sp.encode(lines)}, f)
        subprocess.run(["node", os.path.join(HERE, "hf_unigram_golden.js"), OUT, tmp, DATA],
                       check=True)


if __name__ == "__main__":
    main()
