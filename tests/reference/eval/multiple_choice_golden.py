#!/usr/bin/env python3
"""Multiple-choice golden for tests/eval/multiple_choice_test.cpp: lm-evaluation-harness's rules,
written here from its source's description, run on stories260K in PyTorch (float64,
common/ref_models.py's Llama).

Per (context, choice): trailing whitespace of the context moves to the front of the choice;
whole = [BOS] + sp.encode(context + choice), context_enc = [BOS] + sp.encode(context),
continuation = whole[len(context_enc):]; the model input is
(context_enc + continuation)[-(max_length + 1):][:-1] with max_length = 512 (stories260K's
context) and the choice's log-likelihood is the sum of the log-softmax of the last
len(continuation) rows at the continuation's tokens. acc: argmax of the sums (the first of equal
ones); acc_norm: argmax of sum / len(choice.encode("utf-8")).
Run: /usr/bin/python3 tests/reference/eval/multiple_choice_golden.py [DATA_DIR]
"""
import os
import sys

import sentencepiece as spm
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/reference
from common import ref_models as rm  # noqa: E402
from common.golden_io import write_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "..", "shared", "data")
MAX_LENGTH = 512


def items(story):
    long_context = story  # about 1000 tokens, over 512: the harness's left truncation
    return [
        {"context": "Once upon a time, there was a little", "gold": 0,
         "choices": [" girl named Lily.", " car.", " spaceship made of cheese and glass.", " dog"]},
        {"context": "Lily went to the park. She saw a big ", "gold": 1,
         "choices": ["moon", "tree", "elephant in a hat", "ball"]},
        {"context": "Tom was sad because his toy was broken. His mom said, \"", "gold": 2,
         "choices": ["Xylophone quantum.", "The end.", "Don't worry, we can fix it.", "Hi"]},
        {"context": long_context, "gold": 0, "choices": [" The end.", " Once upon a time", " zq"]},
    ]


def encode_pair(sp, context, choice):
    n = len(context) - len(context.rstrip())
    if n:
        choice, context = context[-n:] + choice, context[:-n]
    whole = [1] + sp.encode(context + choice)
    ctx = [1] + sp.encode(context)
    return ctx, whole[len(ctx):]


def loglik(cfg, w, ctx, cont):
    inp = (ctx + cont)[-(MAX_LENGTH + 1):][:-1]
    logp = torch.log_softmax(rm.llama_logits(w, cfg, inp, interleaved=True), -1)
    rows = logp[len(inp) - len(cont):]
    return sum(rows[i, t].item() for i, t in enumerate(cont))


def main():
    cfg, w = rm.read_llama2c(os.path.join(DATA, "models/stories260K/stories260K.bin"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(DATA, "models/stories260K/tok512.model"))
    story = open(os.path.join(DATA, "corpora/tinystories/tinystories_sample.txt")).read().split("\n\n")[0]
    torch.set_grad_enabled(False)
    out = []
    for it in items(story.strip()):
        case = dict(it, context_ids=None, choice_ids=[], logliks=[])
        for ch in it["choices"]:
            ctx, cont = encode_pair(sp, it["context"], ch)
            case["context_ids"] = ctx
            case["choice_ids"].append(cont)
            case["logliks"].append(loglik(cfg, w, ctx, cont))
        ll = case["logliks"]
        norm = [x / len(c.encode("utf-8")) for x, c in zip(ll, it["choices"])]
        case["pred"] = max(range(len(ll)), key=lambda k: (ll[k], -k))
        case["pred_norm"] = max(range(len(norm)), key=lambda k: (norm[k], -k))
        print(len(case["context_ids"]), [round(x, 4) for x in ll], case["pred"], case["pred_norm"])
        out.append(case)
    write_json(os.path.join(HERE, "multiple_choice.json"), {"max_length": MAX_LENGTH, "cases": out},
               indent=1)


if __name__ == "__main__":
    main()
