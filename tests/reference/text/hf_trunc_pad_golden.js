#!/usr/bin/env node
// Goldens for tests/text/truncation_padding_test.cpp: BERT's tokenizer.json (../shared/data) and
// the Unigram sp_unigram1k.tokenizer.json (no post-processor) with "truncation" / "padding" set
// in the file, encoded by Hugging Face tokenizers (npm @anush008/tokenizers 0.6.0, Rust
// tokenizers 0.22): single texts as one batch (encodeBatch) and pairs (encode(a, b)), with and
// without special tokens. Written: ids, type ids, attention mask, special tokens mask, offsets
// (texts are ASCII, so UTF-16 offsets are byte offsets), or the error HF raised.
//   cd tests/reference/text && npm i -E && node hf_trunc_pad_golden.js [DATA_DIR]
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { Tokenizer } = require("@anush008/tokenizers");

const data = path.resolve(process.argv[2] || path.join(__dirname, "../../../../shared/data"));
const bert = JSON.parse(fs.readFileSync(path.join(data, "tokenizers/bert-base-uncased/tokenizer.json"), "utf8"));
const unigram = JSON.parse(fs.readFileSync(path.join(__dirname, "sp_unigram1k.tokenizer.json"), "utf8"));

const trunc = (max_length, strategy = "LongestFirst", direction = "Right", stride = 0) =>
  ({ direction, max_length, strategy, stride });
const pad = (strategy = "BatchLongest", direction = "Right", pad_to_multiple_of = null,
             pad_id = 0, pad_token = "[PAD]") =>
  ({ strategy, direction, pad_to_multiple_of, pad_id, pad_type_id: 0, pad_token });
const configs = [
  { base: "bert", truncation: trunc(8), padding: null },
  { base: "bert", truncation: trunc(8, "LongestFirst", "Left", 1), padding: pad() },
  { base: "bert", truncation: trunc(9, "OnlyFirst"), padding: pad({ Fixed: 12 }, "Left") },
  { base: "bert", truncation: trunc(7, "OnlySecond", "Right"), padding: pad("BatchLongest", "Right", 4) },
  { base: "bert", truncation: null, padding: pad({ Fixed: 5 }, "Right", 8) },
  { base: "bert", truncation: trunc(3), padding: null },
  { base: "unigram", truncation: trunc(6, "LongestFirst", "Left"), padding: pad("BatchLongest", "Left", null, 3, "▁") },
];
const singles = ["the quick brown fox jumps over the lazy dog", "hello", "",
                 "a b c d e f g h i j k l m n o p"];
const pairs = [["what is the capital of france", "paris is the capital and largest city of france"],
               ["short one", "a much longer second sentence that goes on and on"],
               ["a b c d e f g h i j", "k l"], ["x", "y"]];

function pack(e) {
  return { ids: Array.from(e.getIds()), type_ids: Array.from(e.getTypeIds()),
           attention_mask: Array.from(e.getAttentionMask()),
           special_mask: Array.from(e.getSpecialTokensMask()), offsets: e.getOffsets() };
}

async function main() {
  const out = { peer: "@anush008/tokenizers 0.6.0 (tokenizers 0.22.2)", configs: [] };
  for (const c of configs) {
    const j = JSON.parse(JSON.stringify(c.base === "bert" ? bert : unigram));
    j.truncation = c.truncation;
    j.padding = c.padding;
    const file = path.join(os.tmpdir(), `loom-trunc-pad-${process.pid}.json`);
    fs.writeFileSync(file, JSON.stringify(j));
    const tok = Tokenizer.fromFile(file);
    fs.unlinkSync(file);
    const entry = { base: c.base, truncation: c.truncation, padding: c.padding, runs: [] };
    for (const special of [true, false]) {
      const run = { add_special: special, singles: null, pairs: [] };
      try {
        run.singles = (await tok.encodeBatch(singles, { addSpecialTokens: special })).map(pack);
      } catch (e) { run.singles_error = String(e); }
      for (const [a, b] of pairs) {
        try {
          run.pairs.push(pack(await tok.encode(a, b, { addSpecialTokens: special })));
        } catch (e) { run.pairs.push({ error: String(e) }); }
      }
      entry.runs.push(run);
    }
    out.configs.push(entry);
  }
  out.singles = singles;
  out.pairs = pairs;
  fs.writeFileSync(path.join(__dirname, "hf_goldens", "truncation_padding.json"), JSON.stringify({ format_version: 1, ...out }) + "\n");
  for (const c of out.configs) {
    const errs = c.runs.flatMap((r) => [r.singles_error, ...r.pairs.map((p) => p.error)]).filter(Boolean);
    console.log(c.base, JSON.stringify(c.truncation), JSON.stringify(c.padding), "errors:", errs.length ? errs : 0);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
