#!/usr/bin/env node
// Called by sp_unigram_json.py: loads the converted Unigram tokenizer.json in Hugging Face
// tokenizers (npm @anush008/tokenizers 0.6.0, Rust tokenizers 0.22), encodes every line of every
// corpus (no special tokens), writes hf_goldens/unigram1k__<corpus>.json and compares with the
// libsentencepiece ids the Python script left in SPM_DIR/<corpus>.json.
//   node hf_unigram_golden.js TOKENIZER_JSON SPM_DIR DATA_DIR
"use strict";
const fs = require("fs");
const path = require("path");
const { Tokenizer } = require("@anush008/tokenizers");

const [tok_file, spm_dir, data] = process.argv.slice(2);
const out_dir = path.join(__dirname, "hf_goldens");
const BLOCK = 256, FIRST = 50;
const FNV_OFFSET = 0xcbf29ce484222325n, FNV_PRIME = 0x100000001b3n, MASK = (1n << 64n) - 1n;
function fnv_feed(h, word) {
  for (let k = 0; k < 4; k++) {
    h ^= BigInt((word >>> (8 * k)) & 0xff);
    h = (h * FNV_PRIME) & MASK;
  }
  return h;
}
function summarize(ids_per_line) {
  const blocks = [];
  let total = 0;
  for (let b = 0; b < ids_per_line.length; b += BLOCK) {
    let h = FNV_OFFSET;
    for (let i = b; i < Math.min(b + BLOCK, ids_per_line.length); i++) {
      for (const id of ids_per_line[i]) h = fnv_feed(h, id);
      h = fnv_feed(h, 0xffffffff);
      total += ids_per_line[i].length;
    }
    blocks.push(h.toString(16).padStart(16, "0"));
  }
  return { lines: ids_per_line.length, tokens: total, block_lines: BLOCK, blocks,
           first_ids: ids_per_line.slice(0, FIRST) };
}

async function main() {
  const tok = Tokenizer.fromFile(tok_file);
  const report = { tokenizer: "tests/reference/text/sp_unigram1k.tokenizer.json",
                   spm: "python3-sentencepiece 0.1.97 on sp_unigram1k.model, sp.encode(line)",
                   hf: "@anush008/tokenizers 0.6.0 (tokenizers 0.22.2)", corpora: {} };
  for (const f of fs.readdirSync(spm_dir).sort()) {
    const name = f.replace(/\.json$/, "");
    const { corpus, ids: spm_ids } = JSON.parse(fs.readFileSync(path.join(spm_dir, f), "utf8"));
    const text = fs.readFileSync(path.join(data, corpus)).toString("utf8");
    const lines = text.split("\n");
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    const ids = [];
    for (let i = 0; i < lines.length; i += 4096) {
      const encs = await tok.encodeBatch(lines.slice(i, i + 4096), { addSpecialTokens: false });
      for (const e of encs) ids.push(Array.from(e.getIds()));
    }
    const s = summarize(ids);
    fs.writeFileSync(path.join(out_dir, `unigram1k__${name}.json`),
                     JSON.stringify({ format_version: 1, tokenizer: "sp_unigram1k.tokenizer.json", corpus,
                                      peer: report.hf, ...s }) + "\n");
    let differ = 0;
    const examples = [];
    for (let i = 0; i < lines.length; i++) {
      const a = spm_ids[i], b = ids[i];
      if (a.length !== b.length || a.some((v, k) => v !== b[k])) {
        differ++;
        if (examples.length < 3) examples.push({ line: i + 1, text: lines[i].slice(0, 120),
                                                 spm: a.slice(0, 40), hf: b.slice(0, 40) });
      }
    }
    report.corpora[name] = { corpus, lines: lines.length, tokens: s.tokens,
                             lines_differing: differ, examples };
    console.log(`${name}: ${lines.length} lines, ${s.tokens} tokens; HF != libsentencepiece on ${differ} lines`);
  }
  fs.writeFileSync(path.join(out_dir, "unigram1k_spm_vs_hf.json"), JSON.stringify({ format_version: 1, ...report }, null, 1) + "\n");
}
main().catch((e) => { console.error(e); process.exit(1); });
