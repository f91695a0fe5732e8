#!/usr/bin/env node
// Goldens for tests/text/components_hf_test.cpp: each pipeline component (normalizers,
// pre-tokenizers, BPE options, post-processors, decoders, added-token flags) run by Hugging Face
// tokenizers (npm @anush008/tokenizers) on a fixed set of tricky texts.
//
//   cd tests/reference/text && npm i -E && node hf_components_golden.js [DATA_DIR]
//
// Each case is a tokenizer.json: either a real file from DATA_DIR with some top-level keys
// replaced ("base" + "override"), or a small complete one ("tokenizer"). "add_tokens" are then
// added through the API (new ids follow existing ones). Recorded per text: ids and tokens with
// and without special tokens, pairs, and decode with and without skip_special_tokens.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { Tokenizer, AddedToken } = require("@anush008/tokenizers");

const data = path.resolve(process.argv[2] || path.join(__dirname, "../../../../shared/data"));
const out_file = path.join(__dirname, "hf_goldens", "components.json");

const TEXTS = [
  "Hello, World! 123 4567 89",
  "  leading and   trailing  ",
  "naïve café Ünïcödé ÅNGSTRÖM",
  "中文字符 and 日本語のテキスト",
  "don't stop-believing... ok?",
  "tabs\tand\nnewlines\r\nhere",
  "emoji 😀👍🏽 done",
  "x<|endoftext|>y <|endoftext|> z",
  "[CLS] hi [SEP] [MASK]",
  "",
  "ﬁ ligature ① ２ ½ ⅷ",
  "ǅ Σίσυφος İstanbul ß",
  "loom.cpp v2.0 — 3.14159 $100",
  "new tok: domainterm and xdomainterm domaintermx, specialtok!",
  "   ",
  "a",
  // CJK compatibility ideographs (U+F900-U+FAFF): BertNormalizer's NFD maps them to the unified
  // ideographs of the vocabulary.
  "\uF902\uF90A\uF90C compat a\uF967b \u8ECA\uF963",
];

const bert_base = "tokenizers/bert-base-uncased/tokenizer.json";
const llama3_base = "tokenizers/llama3/tokenizer.json";

const split = (pattern, behavior, invert) => ({ type: "Split", pattern, behavior, invert });

const CASES = [
  // Normalizers on the BERT vocabulary.
  { name: "bert_nfd_lower_strip", base: bert_base, override: { normalizer: { type: "Sequence",
    normalizers: [{ type: "NFD" }, { type: "Lowercase" }, { type: "StripAccents" }] } } },
  { name: "bert_nfkc_lower", base: bert_base, override: { normalizer: { type: "Sequence",
    normalizers: [{ type: "NFKC" }, { type: "Lowercase" }] } } },
  { name: "bert_nfc", base: bert_base, override: { normalizer: { type: "NFC" } } },
  { name: "bert_nfkd", base: bert_base, override: { normalizer: { type: "NFKD" } } },
  { name: "bert_normalizer_cased_strip", base: bert_base, override: { normalizer: {
    type: "BertNormalizer", clean_text: true, handle_chinese_chars: false, strip_accents: true,
    lowercase: false } } },
  { name: "bert_replace_prepend_strip", base: bert_base, override: { normalizer: { type: "Sequence",
    normalizers: [{ type: "Strip", strip_left: true, strip_right: true },
                  { type: "Replace", pattern: { String: "o" }, content: "0" },
                  { type: "Replace", pattern: { Regex: "[0-9]+" }, content: "#" },
                  { type: "Prepend", prepend: "pre " }, { type: "Lowercase" }] } } },
  // Pre-tokenizers on the BERT vocabulary.
  { name: "bert_whitespace", base: bert_base, override: { pre_tokenizer: { type: "Whitespace" } } },
  { name: "bert_whitespace_split", base: bert_base, override: { pre_tokenizer: { type: "WhitespaceSplit" } } },
  { name: "bert_punct_seq_digits", base: bert_base, override: { pre_tokenizer: { type: "Sequence",
    pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Punctuation", behavior: "Isolated" },
                    { type: "Digits", individual_digits: true }] } } },
  { name: "bert_digits_contiguous", base: bert_base, override: { pre_tokenizer: { type: "Sequence",
    pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Digits", individual_digits: false }] } } },
  { name: "bert_punct_merged_prev", base: bert_base, override: { pre_tokenizer: { type: "Sequence",
    pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Punctuation", behavior: "MergedWithPrevious" }] } } },
  { name: "bert_punct_merged_next", base: bert_base, override: { pre_tokenizer: { type: "Sequence",
    pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Punctuation", behavior: "MergedWithNext" }] } } },
  { name: "bert_punct_contiguous", base: bert_base, override: { pre_tokenizer: { type: "Sequence",
    pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Punctuation", behavior: "Contiguous" }] } } },
  { name: "bert_punct_removed", base: bert_base, override: { pre_tokenizer: { type: "Sequence",
    pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Punctuation", behavior: "Removed" }] } } },
  { name: "bert_split_regex_removed", base: bert_base, override: { pre_tokenizer:
    split({ Regex: "\\s+" }, "Removed", false) } },
  { name: "bert_split_regex_invert_isolated", base: bert_base, override: { pre_tokenizer:
    split({ Regex: "\\p{L}+" }, "Isolated", true) } },
  { name: "bert_split_string_merged_next", base: bert_base, override: { pre_tokenizer:
    split({ String: " " }, "MergedWithNext", false) } },
  { name: "bert_split_regex_merged_prev_invert", base: bert_base, override: { pre_tokenizer:
    split({ Regex: "[aeiou]" }, "MergedWithPrevious", true) } },
  { name: "bert_split_contiguous", base: bert_base, override: { pre_tokenizer:
    split({ Regex: "[\\s.,!?]" }, "Contiguous", false) } },
  { name: "bert_char_delimiter", base: bert_base, override: { pre_tokenizer: { type: "CharDelimiterSplit", delimiter: "a" } } },
  { name: "bert_metaspace", base: bert_base, override: { pre_tokenizer: { type: "Metaspace",
    replacement: "▁", prepend_scheme: "always", split: true } } },
  // Post-processors.
  { name: "bert_roberta_processing", base: bert_base, override: { post_processor: {
    type: "RobertaProcessing", sep: ["[SEP]", 102], cls: ["[CLS]", 101], trim_offsets: true,
    add_prefix_space: false } } },
  { name: "bert_bert_processing", base: bert_base, override: { post_processor: {
    type: "BertProcessing", sep: ["[SEP]", 102], cls: ["[CLS]", 101] } } },
  // Added tokens with every flag, through the API.
  { name: "bert_add_tokens", base: bert_base, add_tokens: [
    { content: "domainterm", special: false, singleWord: true },
    { content: "specialtok", special: true, leftStrip: true, rightStrip: true, normalized: false },
    { content: "new tok", special: false },
    { content: "[MASK]", special: true },
    { content: "hello", special: false } ] },
  // Byte-level on the Llama 3 vocabulary.
  { name: "llama3_gpt2_bytelevel_prefix", base: llama3_base, override: {
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true } } },
  { name: "llama3_template_bos", base: llama3_base, override: { post_processor: {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
           { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
    special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [128000], tokens: ["<|begin_of_text|>"] } } } },
    add_tokens: [{ content: "domainterm", special: false }, { content: "<|endoftext|>", special: true }] },
  // Small complete tokenizers: BPE options and decoders.
  { name: "toy_bpe_byte_fallback", tokenizer: toy_bpe({ byte_fallback: true, fuse_unk: false, unk: "<unk>" }) },
  { name: "toy_bpe_unk_fused", tokenizer: toy_bpe({ byte_fallback: false, fuse_unk: true, unk: "<unk>" }) },
  { name: "toy_bpe_unk_plain", tokenizer: toy_bpe({ byte_fallback: false, fuse_unk: false, unk: "<unk>" }) },
  { name: "toy_bpe_prefix_suffix", tokenizer: toy_bpe_prefix_suffix() },
];

// A SentencePiece-style BPE (Metaspace, byte fallback, decoders Replace/ByteFallback/Fuse/Strip).
function toy_bpe({ byte_fallback, fuse_unk, unk }) {
  const vocab = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) vocab["<0x" + b.toString(16).toUpperCase().padStart(2, "0") + ">"] = Object.keys(vocab).length;
  const chars = "▁abcdefghijklmnopqrstuvwxyzHWT,.!'0123456789éü";
  for (const c of chars) vocab[c] = Object.keys(vocab).length;
  const merges = [["▁", "t"], ["h", "e"], ["▁t", "he"], ["l", "l"], ["▁", "a"], ["o", "r"],
                  ["▁", "w"], ["▁w", "or"], ["e", "l"], ["el", "l"], ["H", "ell"], ["n", "d"],
                  ["▁a", "nd"], ["i", "n"], ["▁", "in"], ["1", "2"], ["12", "3"]];
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  return {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [
      { id: 0, content: "<unk>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 1, content: "<s>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 2, content: "</s>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" },
                                                  { type: "Replace", pattern: { String: " " }, content: "▁" }] },
    pre_tokenizer: null,
    post_processor: { type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
             { SpecialToken: { id: "<s>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } } },
    decoder: { type: "Sequence", decoders: [
      { type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" },
      { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }] },
    model: { type: "BPE", dropout: null, unk_token: unk, continuing_subword_prefix: null,
             end_of_word_suffix: null, fuse_unk, byte_fallback, ignore_merges: false, vocab,
             merges: merges.map(([a, b]) => a + " " + b) },
  };
}

// Word-level BPE with "##" continuation and "</w>" suffix, Whitespace pre-tokenizer, BPEDecoder.
function toy_bpe_prefix_suffix() {
  const vocab = { "[UNK]": 0 };
  const add = (t) => { if (!(t in vocab)) vocab[t] = Object.keys(vocab).length; };
  for (const c of "abcdefghijklmnopqrstuvwxyz0123456789.,!?'") { add(c); add("##" + c); add(c + "</w>"); add("##" + c + "</w>"); }
  const merges = [["t", "##h"], ["th", "##e</w>"], ["##l", "##l"], ["##e", "##ll"], ["h", "##ell"],
                  ["##o", "##r"], ["w", "##or"], ["##l", "##d</w>"], ["wor", "##ld</w>"], ["a", "##n"]];
  for (const [a, b] of merges) add(a + b.slice(2));
  return {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: 0, content: "[UNK]", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Whitespace" },
    post_processor: null,
    decoder: { type: "BPEDecoder", suffix: "</w>" },
    model: { type: "BPE", dropout: null, unk_token: "[UNK]", continuing_subword_prefix: "##",
             end_of_word_suffix: "</w>", fuse_unk: false, byte_fallback: false, vocab,
             merges: merges.map(([a, b]) => a + " " + b) },
  };
}

async function run_case(c) {
  let json;
  if (c.tokenizer) {
    json = c.tokenizer;
  } else {
    json = JSON.parse(fs.readFileSync(path.join(data, c.base), "utf8"));
    Object.assign(json, c.override || {});
  }
  const file = path.join(os.tmpdir(), `loom-components-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(json));
  const tok = Tokenizer.fromFile(file);
  fs.unlinkSync(file);
  let added = 0;
  if (c.add_tokens) {
    added = tok.addAddedTokens(c.add_tokens.map((t) => new AddedToken(t.content, t.special, {
      singleWord: !!t.singleWord, leftStrip: !!t.leftStrip, rightStrip: !!t.rightStrip,
      normalized: t.normalized === undefined ? !t.special : t.normalized })));
  }
  const results = [];
  for (const text of TEXTS) {
    const plain = await tok.encode(text, null, { addSpecialTokens: false });
    const special = await tok.encode(text, null, { addSpecialTokens: true });
    const pair = await tok.encode(text, "second part, ok", { addSpecialTokens: true });
    const ids = Array.from(plain.getIds());
    const sids = Array.from(special.getIds());
    results.push({
      text, ids, tokens: plain.getTokens(), ids_special: sids,
      pair_ids: Array.from(pair.getIds()), pair_type_ids: Array.from(pair.getTypeIds()),
      decoded: await tok.decode(sids, false), decoded_skip: await tok.decode(sids, true),
    });
  }
  const out = { name: c.name, results, vocab_size: tok.getVocabSize(true), added_count: added };
  if (c.tokenizer) out.tokenizer = c.tokenizer;
  else { out.base = c.base; if (c.override) out.override = c.override; }
  if (c.add_tokens) out.add_tokens = c.add_tokens;
  return out;
}

async function main() {
  const cases = [];
  for (const c of CASES) {
    cases.push(await run_case(c));
    console.log(`${c.name}: ok`);
  }
  fs.mkdirSync(path.dirname(out_file), { recursive: true });
  fs.writeFileSync(out_file, JSON.stringify({ format_version: 1, peer: "@anush008/tokenizers 0.6.0 (tokenizers 0.22.2)", cases }) + "\n");
  console.log(`wrote ${out_file}: ${cases.length} cases x ${TEXTS.length} texts`);
}

main().catch((e) => { console.error(e); process.exit(1); });
