// llama.cpp (node-llama-cpp's prebuilt CPU binary) side of bench/peers/llm/run.sh.
// usage: node llama_cpp_bench.mjs MODEL THREADS pp|tg PROMPT_FILE|N_TOKENS
//   pp: evaluate the prompt file's text (BOS + tokens) in one batch, print prompt tokens/s
//   tg: greedy generation from BOS of N tokens, print tokens/s
// Prints one JSON line: {"tokens", "seconds", "tok_per_s", "cpu_seconds", "tok_per_cpu_s",
// "max_rss_kb"}; CPU time (all threads) of the timed part, which a loaded machine distorts less.
import fs from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, threadsArg, mode, arg] = process.argv.slice(2);
const threads = Number(threadsArg);
const llama = await getLlama({gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const context = await model.createContext({
  contextSize: 1024, batchSize: 512, threads: {ideal: threads, min: threads},
  flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
});
const seq = context.getSequence();
let tokens = 0, seconds = 0, cpu0 = null;
if (mode === "pp") {
  const text = fs.readFileSync(arg, "utf8");
  const ids = [model.tokens.bos, ...model.tokenize(text)];
  // Warm-up on a short sequence so that one-time setup is not timed.
  await seq.evaluateWithoutGeneratingNewTokens(ids.slice(0, 8));
  await seq.clearHistory();
  cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await seq.evaluateWithoutGeneratingNewTokens(ids);
  seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  tokens = ids.length;
} else {
  const n = Number(arg);
  cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for await (const tok of seq.evaluate([model.tokens.bos], {temperature: 0})) {
    if (++tokens >= n) break;
  }
  seconds = Number(process.hrtime.bigint() - t0) / 1e9;
}
const cpu = process.cpuUsage(cpu0);
const cpu_seconds = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({tokens, seconds, tok_per_s: tokens / seconds, cpu_seconds,
                            tok_per_cpu_s: tokens / cpu_seconds,
                            max_rss_kb: process.resourceUsage().maxRSS}));
await context.dispose();
await model.dispose();
await llama.dispose();
