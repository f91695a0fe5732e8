#!/usr/bin/env node
// Goldens for tests/text/unigram_json_test.cpp: small hand-made Unigram tokenizer.json files
// (byte_fallback on/off, unk_id null, Metaspace prepend_scheme always/first/never, split on/off,
// an added token) encoded by Hugging Face tokenizers (npm @anush008/tokenizers 0.6.0, Rust
// tokenizers 0.22): ids and offsets (UTF-16 offsets converted to UTF-8 bytes).
//   cd tests/reference/text && npm i -E && node hf_unigram_cases.js
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { Tokenizer } = require("@anush008/tokenizers");

const vocab = [["<unk>", 0], ["<s>", 0], ["</s>", 0], ["▁", -2], ["a", -3], ["b", -3.5],
               ["ab", -4], ["▁ab", -4.5], ["c", -5], ["abc", -9.5], ["▁c", -5.2], ["é", -6],
               ["<0x7A>", 0], ["<0xC3>", 0], ["<0xA9>", 0], ["▁a", -3.9], ["ba", -6.5]];
function tokenizer(opts) {
  return {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: 1, content: "<s>", single_word: false, lstrip: false, rstrip: false,
                     normalized: false, special: true }],
    normalizer: { type: "Sequence", normalizers: [
      { type: "Strip", strip_left: false, strip_right: true },
      { type: "Replace", pattern: { Regex: " {2,}" }, content: "▁" }] },
    pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: opts.prepend,
                     split: opts.split },
    post_processor: null,
    decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: opts.prepend, split: opts.split },
    model: { type: "Unigram", unk_id: opts.unk_id, vocab, byte_fallback: opts.byte_fallback },
  };
}
const configs = [
  { prepend: "always", split: true, unk_id: 0, byte_fallback: false },
  { prepend: "always", split: true, unk_id: 0, byte_fallback: true },
  { prepend: "first", split: true, unk_id: 0, byte_fallback: false },
  { prepend: "never", split: false, unk_id: 0, byte_fallback: true },
  { prepend: "always", split: false, unk_id: 0, byte_fallback: false },
];
const texts = ["ab", "abc ab", "a b c", "zzq ab", "ab  c  ", "xy", "é z", "<s>ab <s> c",
               "baba abab", "  ab", "ab <unk> c", "qéz", ""];

function byte_offsets(text, [b, e]) {
  return [Buffer.byteLength(text.slice(0, b)), Buffer.byteLength(text.slice(0, e))];
}

async function main() {
  const out = { peer: "@anush008/tokenizers 0.6.0 (tokenizers 0.22.2)", configs: [] };
  for (const c of configs) {
    const j = tokenizer(c);
    const file = path.join(os.tmpdir(), `loom-unigram-case-${process.pid}.json`);
    fs.writeFileSync(file, JSON.stringify(j));
    const tok = Tokenizer.fromFile(file);
    fs.unlinkSync(file);
    const cases = [];
    for (const t of texts) {
      const e = await tok.encode(t, null, { addSpecialTokens: false });
      cases.push({ text: t, ids: Array.from(e.getIds()),
                   offsets: e.getOffsets().map((o) => byte_offsets(t, o)) });
    }
    out.configs.push({ tokenizer: j, cases });
  }
  // No unk_id and a character no piece covers: HF refuses to encode.
  const j = tokenizer({ prepend: "always", split: true, unk_id: null, byte_fallback: false });
  const file = path.join(os.tmpdir(), `loom-unigram-case-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(j));
  const tok = Tokenizer.fromFile(file);
  fs.unlinkSync(file);
  let error = null;
  try { await tok.encode("ab q", null, { addSpecialTokens: false }); } catch (e) { error = String(e); }
  out.no_unk = { tokenizer: j, text: "ab q", error };
  fs.writeFileSync(path.join(__dirname, "hf_goldens", "unigram_cases.json"), JSON.stringify({ format_version: 1, ...out }) + "\n");
  console.log(`${configs.length} configs x ${texts.length} texts; no unk_id: ${error}`);
}
main().catch((e) => { console.error(e); process.exit(1); });
