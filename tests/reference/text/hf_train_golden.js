#!/usr/bin/env node
// Goldens for tests/cli/tokenizer_train_hf.sh: tokenizers trained by `loom tokenizer train`
// (byte-level BPE and WordPiece, on PTB's validation text) loaded by Hugging Face tokenizers
// (npm @anush008/tokenizers, Rust tokenizers 0.22 through native bindings) with
// Tokenizer.fromFile, and the ids HF gives on every line of PTB test and Tiny Shakespeare. The
// CLI test trains the same tokenizers and checks that Loom's ids are these.
//
//   cd tests/reference/text && npm i -E && node hf_train_golden.js LOOM_BINARY [DATA_DIR]
//
// Also written (the CLI test checks the digest of HF's merge list): Hugging Face's own BPE trainer
// (BpeTrainer defaults: vocab 30000, min_frequency 0, alphabet = the bytes seen) on the same
// text with the same ByteLevel pre-tokenizer, compared merge by merge with
// `loom tokenizer train --type bpe --vocab-size 30000` (whose alphabet is all 256 bytes).
// Line convention and digests as in hf_tokenizers_golden.js.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const crypto = require("crypto");
const { execFileSync } = require("child_process");
const { Tokenizer } = require("@anush008/tokenizers");

const loom = path.resolve(process.argv[2] || path.join(__dirname, "../../../build/bin/loom"));
const data = path.resolve(process.argv[3] || path.join(__dirname, "../../../../shared/data"));
const out_dir = path.join(__dirname, "hf_goldens");
const BLOCK = 256, FIRST = 50, FIRST_SPECIAL = 20;
const train_file = path.join(data, "corpora/ptb/ptb.valid.txt");

// Must match tests/cli/tokenizer_train_hf.sh.
const configs = {
  bpe: ["--type", "bpe", "--vocab-size", "1000", "--min-frequency", "2",
        "--special-tokens", "<|endoftext|>,<pad>"],
  wordpiece: ["--type", "wordpiece", "--vocab-size", "1000"],
};
const corpora = {
  ptb_test: "corpora/ptb/ptb.test.txt",
  tinyshakespeare: "corpora/tinyshakespeare/input.txt",
};

function read_lines(rel) {
  const lines = fs.readFileSync(path.join(data, rel)).toString("utf8").split("\n");
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

async function hf_ids(tok, lines, special) {
  const out = [];
  for (let i = 0; i < lines.length; i += 4096) {
    const encs = await tok.encodeBatch(lines.slice(i, i + 4096), { addSpecialTokens: special });
    for (const e of encs) out.push(Array.from(e.getIds()));
  }
  return out;
}

function merges_of(file) {
  const m = JSON.parse(fs.readFileSync(file, "utf8")).model.merges;
  return m.map((x) => (Array.isArray(x) ? x.join(" ") : x));
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "loom-train-golden-"));
  for (const [cfg, flags] of Object.entries(configs)) {
    const file = path.join(tmp, `${cfg}.json`);
    execFileSync(loom, ["tokenizer", "train", ...flags, "--output", file, train_file]);
    const tok = Tokenizer.fromFile(file);
    for (const [cname, rel] of Object.entries(corpora)) {
      const lines = read_lines(rel);
      const s = summarize(await hf_ids(tok, lines, false));
      const special = await hf_ids(tok, lines.slice(0, FIRST_SPECIAL), true);
      const golden = { trained: `loom tokenizer train ${flags.join(" ")} ptb.valid.txt`,
                       vocab_size: tok.getVocabSize(true), corpus: rel,
                       peer: "@anush008/tokenizers 0.6.0 (tokenizers 0.22.2)", ...s,
                       first_ids_add_special: special };
      const out = path.join(out_dir, `trained_${cfg}__${cname}.json`);
      fs.writeFileSync(out, JSON.stringify({ format_version: 1, ...golden }) + "\n");
      console.log(`${cfg} ${cname}: vocab ${golden.vocab_size}, ${s.lines} lines, ${s.tokens} tokens`);
    }
  }

  // Hugging Face's BPE trainer vs Loom's on the same text (information only).
  const skeleton = {
    version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null, decoder: null,
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null,
             end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: {}, merges: [] },
  };
  const sk_file = path.join(tmp, "skeleton.json");
  fs.writeFileSync(sk_file, JSON.stringify(skeleton));
  const hf = Tokenizer.fromFile(sk_file);
  hf.train([train_file]);
  const hf_file = path.join(tmp, "hf_trained.json");
  hf.save(hf_file);
  const loom_file = path.join(tmp, "loom_30000.json");
  execFileSync(loom, ["tokenizer", "train", "--type", "bpe", "--vocab-size", "30000",
                      "--output", loom_file, train_file]);
  const a = merges_of(hf_file), b = merges_of(loom_file);
  let prefix = 0;
  while (prefix < Math.min(a.length, b.length) && a[prefix] === b[prefix]) prefix++;
  const bs = new Set(b);
  const common = a.filter((m) => bs.has(m)).length;
  const cmp = { train_file: "corpora/ptb/ptb.valid.txt", hf_merges: a.length, loom_merges: b.length,
                identical_prefix: prefix, common_merges: common,
                hf_merges_sha256: crypto.createHash("sha256").update(a.join("\n")).digest("hex") };
  fs.writeFileSync(path.join(out_dir, "trained_bpe_vs_hf_trainer.json"), JSON.stringify({ format_version: 1, ...cmp }) + "\n");
  console.log("HF BpeTrainer vs loom (vocab 30000):", JSON.stringify(cmp));
  fs.rmSync(tmp, { recursive: true });
}

main().catch((e) => { console.error(e); process.exit(1); });
