#!/usr/bin/env python3
"""Goldens for tests/models/bert_test.cpp: random-weight BERT and RoBERTa in Hugging Face layout.

Writes, under tests/reference/models/infer_bert/:
  bert_hf/{model.safetensors,config.json,vocab.txt}   BertForMaskedLM names (with the pooler, as
                                                      bert-base-uncased ships it; the decoder is
                                                      tied, so cls.predictions.decoder.* is absent
                                                      as save_pretrained leaves it)
  roberta_hf/{model.safetensors,config.json}          RobertaForMaskedLM names
  {bert,roberta}.{bin,txt}                            tensor goldens (common/golden_io.py):
      ids, mask, types (B*T)  a right-padded batch of 3; hidden (B*T*C), pooled (B*C),
      logits (B*T*V); hidden0, pooled0, logits0 the same with every token type 0; r_hidden, r_pooled, r_logits the fixed projections of the loss
      L = sum(hidden*r_hidden) + sum(pooled*r_pooled) + sum(logits*r_logits), and grad.<name>
      dL/d(every parameter).
  embed.json   the CLI's text, its ids under bert_hf/vocab.txt, and the CLS and mean pooled
               (L2-normalised) vectors of bert_hf.
Float64 forward on weights rounded to float32 (what the files hold); common/ref_models.py's BERT.
Run: /usr/bin/python3 tests/reference/models/infer_bert.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/reference
from common import ref_models as rm  # noqa: E402
from common.golden_io import TensorGolden, write_json, write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "infer_bert")
V, C, H, FF, L = 61, 32, 4, 64, 2
# Right-padded batch: lengths 7, 4, 5 (pad 0 for BERT, 1 for RoBERTa, substituted below).
IDS = [[2, 17, 40, 9, 33, 5, 3], [2, 60, 11, 3, 0, 0, 0], [2, 8, 8, 21, 3, 0, 0]]
LENS = [7, 4, 5]
TYPES = [[0, 0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0, 0], [0, 1, 1, 1, 1, 0, 0]]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
    w for w in ("the a of to and in is it that was for on are with as he his they at be this "
                "from have or by one had not but what all were when we there can an your which "
                "their said if do will each about how up out them then she many some so these "
                "would other into has more her two like").split()][:V - 5]
TEXT = "the cat"  # "cat" is not in the vocabulary: [UNK]


def params(g, prefix, head, types, roberta):
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64) * 0.2
    P = 16
    e = prefix + "embeddings."
    w = {e + "word_embeddings.weight": r(V, C) * 5, e + "position_embeddings.weight": r(P, C),
         e + "token_type_embeddings.weight": r(types, C),
         e + "LayerNorm.weight": 1 + r(C), e + "LayerNorm.bias": r(C)}
    for i in range(L):
        p = f"{prefix}encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value",
                  "attention.output.dense"):
            w[p + n + ".weight"], w[p + n + ".bias"] = r(C, C), r(C)
        w[p + "attention.output.LayerNorm.weight"] = 1 + r(C)
        w[p + "attention.output.LayerNorm.bias"] = r(C)
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = r(FF, C), r(FF)
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = r(C, FF), r(C)
        w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"] = 1 + r(C), r(C)
    w[prefix + "pooler.dense.weight"], w[prefix + "pooler.dense.bias"] = r(C, C), r(C)
    t = head + ("" if roberta else "transform.")
    ln = t + ("layer_norm." if roberta else "LayerNorm.")
    w[t + "dense.weight"], w[t + "dense.bias"] = r(C, C), r(C)
    w[ln + "weight"], w[ln + "bias"] = 1 + r(C), r(C)
    w[head + "bias"] = r(V)
    return {k: v.float().double() for k, v in w.items()}


def config_json(roberta):
    c = {"architectures": ["RobertaForMaskedLM" if roberta else "BertForMaskedLM"],
         "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
         "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": C,
         "initializer_range": 0.02, "intermediate_size": FF,
         "layer_norm_eps": 1e-05 if roberta else 1e-12, "max_position_embeddings": 16,
         "model_type": "roberta" if roberta else "bert", "num_attention_heads": H,
         "num_hidden_layers": L, "pad_token_id": 1 if roberta else 0,
         "position_embedding_type": "absolute", "torch_dtype": "float32",
         "transformers_version": "4.40.0", "type_vocab_size": 1 if roberta else 2,
         "use_cache": True, "vocab_size": V}
    if roberta:
        c["bos_token_id"], c["eos_token_id"] = 0, 2
    return c


def run(w, cfg, ids, mask, types, roberta):
    prefix, head = ("roberta.", "lm_head.") if roberta else ("bert.", "cls.predictions.")
    c = rm.Config(vocab=V, dim=C, layers=L, heads=H, hidden=FF, eps=cfg["layer_norm_eps"])
    hid = rm.bert_hidden(w, c, ids, mask, types, prefix, 1 if roberta else None)
    return hid, rm.bert_pooled(w, hid, prefix), rm.bert_mlm_logits(w, c, hid, head, prefix)


def write_model(name, roberta, g):
    prefix, head = ("roberta.", "lm_head.") if roberta else ("bert.", "cls.predictions.")
    cfg = config_json(roberta)
    w = params(g, prefix, head, cfg["type_vocab_size"], roberta)
    d = os.path.join(OUT, name + "_hf")
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), w)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    pad = cfg["pad_token_id"]
    ids = torch.tensor([[t if i < n else pad for i, t in enumerate(s)] for s, n in zip(IDS, LENS)])
    mask = torch.tensor([[1 if i < n else 0 for i in range(len(s))] for s, n in zip(IDS, LENS)])
    types = torch.zeros_like(ids) if roberta else torch.tensor(TYPES)
    leaf = {k: v.clone().requires_grad_(True) for k, v in w.items()}
    hid, pooled, logits = run(leaf, cfg, ids, mask, types, roberta)
    rs = [torch.randn(*t.shape, generator=g, dtype=torch.float64).float().double()
          for t in (hid, pooled, logits)]
    loss = (hid * rs[0]).sum() + (pooled * rs[1]).sum() + (logits * rs[2]).sum()
    loss.backward()
    tg = TensorGolden()
    tg.config({"batch": ids.shape[0], "seq": ids.shape[1]})
    for k, t in (("ids", ids), ("mask", mask), ("types", types), ("hidden", hid),
                 ("pooled", pooled), ("logits", logits), ("r_hidden", rs[0]),
                 ("r_pooled", rs[1]), ("r_logits", rs[2]), ("loss", loss.reshape(1))):
        tg.add(k, t.double())
    for k, p in leaf.items():
        tg.add("grad." + k, p.grad)
    # The inference backend has no token types (all 0): its goldens, on the same batch.
    with torch.no_grad():
        for k, t in zip(("hidden0", "pooled0", "logits0"),
                        run(w, cfg, ids, mask, torch.zeros_like(ids), roberta)):
            tg.add(k, t)
    tg.save(OUT, name)
    return w, cfg


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(20261202)
    bw, bcfg = write_model("bert", False, g)
    write_model("roberta", True, g)
    with open(os.path.join(OUT, "bert_hf", "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    ids = [VOCAB.index("[CLS]")] + [VOCAB.index(t) if t in VOCAB else VOCAB.index("[UNK]")
                                    for t in TEXT.split()] + [VOCAB.index("[SEP]")]
    hid, _, _ = run(bw, bcfg, torch.tensor([ids]), None, None, False)
    cls, mean = hid[0, 0], hid[0].mean(0)
    write_json(os.path.join(OUT, "embed.json"),
               {"text": TEXT, "ids": ids, "cls": (cls / cls.norm()).tolist(),
                "mean": (mean / mean.norm()).tolist()}, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
