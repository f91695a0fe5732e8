#!/usr/bin/env node
// Golden for tests/text/sentencepiece_convert_test.cpp: the tokenizer.json that Loom writes for a
// SentencePiece BPE model (tok512.model, Llama 2 tokenizer.model), loaded by Hugging Face
// tokenizers (npm @anush008/tokenizers: Rust tokenizers through native bindings), encodes every
// line of every corpus in ../shared/data/corpora; per (tokenizer, corpus) the line count, token
// count and FNV-1a-64 of all ids (each id 4 little-endian bytes, each line ended by FFFFFFFF) are
// written to sp_convert_hf.json. No special tokens are added. Lines as hf_tokenizers_golden.js
// reads them (split on "\n", invalid UTF-8 bytes become U+FFFD).
//
//   cd tests/reference/text && npm i -E && LOOM=../../../build/bin/loom node sp_convert_hf_golden.js [DATA]
//
// The tokenizer.json files come from `loom tokenizer add-tokens` with an empty token list (the
// converted pipeline saved as it is).
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync } = require("child_process");
const { Tokenizer } = require("@anush008/tokenizers");

const data = path.resolve(process.argv[2] || path.join(__dirname, "../../../../shared/data"));
const loom = path.resolve(process.env.LOOM || path.join(__dirname, "../../../build/bin/loom"));
const corpora = {
  tinyshakespeare: "corpora/tinyshakespeare/input.txt",
  ptb_valid: "corpora/ptb/ptb.valid.txt",
  ptb_test: "corpora/ptb/ptb.test.txt",
  wikitext2_test: "corpora/wikitext-2-raw/wiki.test.raw",
  tinystories: "corpora/tinystories/tinystories_sample.txt",
  lee_background: "corpora/gensim-lee/lee_background.cor",
  lee: "corpora/gensim-lee/lee.cor",
  foldoc: "corpora/foldoc/foldoc.tsv",
};
const models = { tok512: "models/stories260K/tok512.model", llama2: "tokenizers/llama2/tokenizer.model" };

const FNV_OFFSET = 0xcbf29ce484222325n, FNV_PRIME = 0x100000001b3n, MASK = (1n << 64n) - 1n;
function fnv_feed(h, word) {
  for (let k = 0; k < 4; k++) {
    h ^= BigInt((word >>> (8 * k)) & 0xff);
    h = (h * FNV_PRIME) & MASK;
  }
  return h;
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "loom-spconv-"));
  const empty = path.join(tmp, "empty.txt");
  fs.writeFileSync(empty, "");
  const out = {};
  for (const [key, rel] of Object.entries(models)) {
    const json = path.join(tmp, key + ".json");
    execFileSync(loom, ["tokenizer", "add-tokens", "--tokenizer", path.join(data, rel), "--tokens", empty,
                        "--output", json]);
    const tok = Tokenizer.fromFile(json);
    out[key] = {};
    for (const [name, crel] of Object.entries(corpora)) {
      const lines = fs.readFileSync(path.join(data, crel)).toString("utf8").split("\n");
      if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
      let h = FNV_OFFSET, tokens = 0;
      for (let i = 0; i < lines.length; i += 1024) {
        const encs = await tok.encodeBatch(lines.slice(i, i + 1024), { addSpecialTokens: false });
        for (const e of encs) {
          const ids = Array.from(e.getIds());
          for (const id of ids) h = fnv_feed(h, id);
          h = fnv_feed(h, 0xffffffff);
          tokens += ids.length;
        }
      }
      out[key][name] = { lines: lines.length, tokens, fnv: h.toString(16).padStart(16, "0") };
      console.error(key, name, out[key][name]);
    }
  }
  fs.writeFileSync(path.join(__dirname, "sp_convert_hf.json"), JSON.stringify({ format_version: 1, ...out }, null, 1) + "\n");
  fs.rmSync(tmp, { recursive: true });
}
main();
