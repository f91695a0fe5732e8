#!/usr/bin/env node
// One peer measurement for run.sh: node peers.js PEER CORPUS THREADS DATA_DIR
//   PEER: hf-gpt2 | hf-bert | tiktoken-gpt2
// Every line of CORPUS is one document (as `loom tokenize`). HF tokenizers runs encodeBatch on
// rayon (RAYON_NUM_THREADS set by run.sh); tiktoken (WASM, single-threaded) is split across
// THREADS worker threads, each with its own encoder. Prints: MB/s tokens seconds.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { Worker, isMainThread, parentPort, workerData } = require("worker_threads");

function gpt2_tokenizer_json(data) {
  const vocab = JSON.parse(fs.readFileSync(path.join(data, "tokenizers/gpt2/encoder.json"), "utf8"));
  const merges = fs.readFileSync(path.join(data, "tokenizers/gpt2/vocab.bpe"), "utf8")
      .split("\n").filter((l, i) => l.length > 0 && !(i === 0 && l.startsWith("#version")));
  const bl = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  const j = { version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false,
                     rstrip: false, normalized: true, special: true }],
    normalizer: null, pre_tokenizer: { type: "ByteLevel", ...bl },
    post_processor: { type: "ByteLevel", ...bl, trim_offsets: false }, decoder: { type: "ByteLevel", ...bl },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "",
             end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges } };
  const file = path.join(os.tmpdir(), `loom-bench-gpt2-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(j));
  return file;
}

function tiktoken_count(lines) {
  const { get_encoding } = require("tiktoken");
  const enc = get_encoding("gpt2");
  let n = 0;
  for (const l of lines) n += enc.encode(l, "all").length;
  enc.free();
  return n;
}

if (!isMainThread) {
  parentPort.postMessage(tiktoken_count(workerData.lines));
} else {
  main().catch((e) => { console.error(e); process.exit(1); });
}

async function main() {
  const [peer, corpus, threads_s, data] = process.argv.slice(2);
  const threads = parseInt(threads_s, 10);
  const text = fs.readFileSync(corpus, "utf8");
  const bytes = Buffer.byteLength(text, "utf8");
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  let run;
  if (peer === "tiktoken-gpt2") {
    run = async () => {
      if (threads === 1) return tiktoken_count(lines);
      const per = Math.ceil(lines.length / threads);
      const counts = await Promise.all(Array.from({ length: threads }, (_, t) => new Promise((res, rej) => {
        const w = new Worker(__filename, { workerData: { lines: lines.slice(t * per, (t + 1) * per) } });
        w.on("message", res);
        w.on("error", rej);
      })));
      return counts.reduce((a, b) => a + b, 0);
    };
  } else {
    const { Tokenizer } = require("@anush008/tokenizers");
    let file = peer === "hf-gpt2" ? gpt2_tokenizer_json(data)
                                  : path.join(data, "tokenizers/bert-base-uncased/tokenizer.json");
    const tok = Tokenizer.fromFile(file);
    if (peer === "hf-gpt2") fs.unlinkSync(file);
    run = async () => {
      let n = 0;
      const CHUNK = 8192;
      for (let i = 0; i < lines.length; i += CHUNK) {
        const encs = await tok.encodeBatch(lines.slice(i, i + CHUNK), { addSpecialTokens: false });
        for (const e of encs) n += e.getIds().length;
      }
      return n;
    };
  }
  const t0 = process.hrtime.bigint();
  const tokens = await run();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${(bytes / 1e6 / secs).toFixed(2)} ${tokens} ${secs.toFixed(2)}`);
}
