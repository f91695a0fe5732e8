#!/usr/bin/env node
// Goldens for tests/text/parity_hf_test.cpp: Hugging Face tokenizers (npm @anush008/tokenizers,
// Rust tokenizers 0.22 through native bindings) and tiktoken (npm, OpenAI's Rust core as WASM)
// on every line of every corpus in ../shared/data/corpora.
//
//   cd tests/reference/text && npm i -E && node hf_tokenizers_golden.js [DATA_DIR]
//
// Line convention (scripting contract, same as `loom tokenize --ids`): the file is split on "\n"
// only; each piece without its "\n" is one document ("\r" stays part of it); a final empty piece
// after the last "\n" is not a line; empty lines in between are. Files are read as UTF-8 with
// invalid bytes replaced by U+FFFD (what a JS string can hold; gensim-lee/lee.cor has Latin-1
// bytes); the C++ test applies the same replacement (one U+FFFD per invalid byte).
//
// Written per (tokenizer, corpus): the line count, the total token count, FNV-1a-64 of the ids
// of each block of 256 lines (each id as 4 little-endian bytes, each line ended by FFFFFFFF),
// and the full ids of the first 50 lines. No special tokens are added.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { Tokenizer } = require("@anush008/tokenizers");
const { get_encoding } = require("tiktoken");

const data = path.resolve(process.argv[2] || path.join(__dirname, "../../../../shared/data"));
const out_dir = path.join(__dirname, "hf_goldens");
const BLOCK = 256;
const FIRST = 50;

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

function read_lines(rel) {
  const text = fs.readFileSync(path.join(data, rel)).toString("utf8");
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

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

// GPT-2 from encoder.json + vocab.bpe, as Hugging Face's GPT2TokenizerFast builds it.
function gpt2_tokenizer_json() {
  const vocab = JSON.parse(fs.readFileSync(path.join(data, "tokenizers/gpt2/encoder.json"), "utf8"));
  const merges = fs.readFileSync(path.join(data, "tokenizers/gpt2/vocab.bpe"), "utf8")
      .split("\n").filter((l, i) => l.length > 0 && !(i === 0 && l.startsWith("#version")));
  const byte_level = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  const j = {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false,
                     rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...byte_level },
    post_processor: { type: "ByteLevel", ...byte_level, trim_offsets: false },
    decoder: { type: "ByteLevel", ...byte_level },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "",
             end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges },
  };
  const file = path.join(os.tmpdir(), `loom-gpt2-tokenizer-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(j));
  return file;
}

async function hf_ids(tok, lines) {
  const out = [];
  const CHUNK = 4096;
  for (let i = 0; i < lines.length; i += CHUNK) {
    const encs = await tok.encodeBatch(lines.slice(i, i + CHUNK), { addSpecialTokens: false });
    for (const e of encs) out.push(Array.from(e.getIds()));
  }
  return out;
}

async function main() {
  fs.mkdirSync(out_dir, { recursive: true });
  const gpt2_file = gpt2_tokenizer_json();
  const tokenizers = {
    gpt2: Tokenizer.fromFile(gpt2_file),
    llama3: Tokenizer.fromFile(path.join(data, "tokenizers/llama3/tokenizer.json")),
    bert: Tokenizer.fromFile(path.join(data, "tokenizers/bert-base-uncased/tokenizer.json")),
  };
  const tiktoken_gpt2 = get_encoding("gpt2");
  for (const [cname, rel] of Object.entries(corpora)) {
    const lines = read_lines(rel);
    for (const [tname, tok] of Object.entries(tokenizers)) {
      const ids = await hf_ids(tok, lines);
      const s = summarize(ids);
      const golden = { tokenizer: tname, corpus: rel, peer: "@anush008/tokenizers 0.6.0 (tokenizers 0.22.2)", ...s };
      if (tname === "gpt2") {
        // tiktoken with every special token allowed (<|endoftext|> in tinystories -> 50256).
        let differ = 0, first_diff = -1;
        for (let i = 0; i < lines.length; i++) {
          const t = Array.from(tiktoken_gpt2.encode(lines[i], "all"));
          const h = ids[i];
          if (t.length !== h.length || t.some((v, k) => v !== h[k])) {
            differ++;
            if (first_diff < 0) first_diff = i;
          }
        }
        golden.tiktoken_gpt2_lines_differing = differ;
        if (differ > 0) golden.tiktoken_first_differing_line = first_diff;
        console.log(`${tname} ${cname}: tiktoken differs from HF on ${differ} lines`);
      }
      const file = path.join(out_dir, `${tname}__${cname}.json`);
      fs.writeFileSync(file, JSON.stringify({ format_version: 1, ...golden }) + "\n");
      console.log(`${tname} ${cname}: ${s.lines} lines, ${s.tokens} tokens -> ${path.relative(process.cwd(), file)}`);
    }
  }
  tiktoken_gpt2.free();
  fs.unlinkSync(gpt2_file);
}

main().catch((e) => { console.error(e); process.exit(1); });
