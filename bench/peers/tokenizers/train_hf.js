#!/usr/bin/env node
// Hugging Face's BPE trainer through npm @anush008/tokenizers (Rust tokenizers 0.22): a
// tokenizer.json with an empty BPE model and the ByteLevel pre-tokenizer (GPT-2 regex, no prefix
// space) is loaded and trained with Tokenizer.train(files), which uses the model's default trainer
// (BpeTrainer::default(): vocab_size 30000, min_frequency 0, no special tokens, alphabet = the
// characters seen). Prints "<seconds> <vocab size> <merges>"; writes the result to OUT.
//   node train_hf.js CORPUS OUT.json
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { Tokenizer } = require("@anush008/tokenizers");

const [corpus, out] = process.argv.slice(2);
const skeleton = {
  version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
  pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null, decoder: null,
  model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null,
           end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: {}, merges: [] },
};
const sk = path.join(os.tmpdir(), `loom-hf-train-skeleton-${process.pid}.json`);
fs.writeFileSync(sk, JSON.stringify(skeleton));
const tok = Tokenizer.fromFile(sk);
fs.unlinkSync(sk);
const t0 = process.hrtime.bigint();
tok.train([corpus]);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
tok.save(out);
const model = JSON.parse(fs.readFileSync(out, "utf8")).model;
console.log(`${secs.toFixed(3)} ${tok.getVocabSize(true)} ${model.merges.length}`);
