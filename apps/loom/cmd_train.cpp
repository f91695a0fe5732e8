// `loom train`: pre-train a causal LM (Llama or GPT-2 layout) from scratch on a text file
// (byte-level tokens) or a token shard, with a progress bar, a CSV log, validation loss,
// atomic checkpoints and exact --resume. Parsing and printing only: the loop is train/trainer.h.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/progress.h"
#include "train/trainer.h"
#include "train/token_shard.h"

namespace {

using loom::Error;
using loom::cli::Args;
using loom::cli::UsageError;

bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

loom::nn::Decay decay_of(const std::string& s) {
  if (s == "cosine") return loom::nn::Decay::Cosine;
  if (s == "linear") return loom::nn::Decay::Linear;
  if (s == "constant") return loom::nn::Decay::Constant;
  throw UsageError{"flag --decay: expected cosine, linear or constant, got '" + s + "'"};
}

int run_train(const Args& a) {
  const std::string out = a.need("out");
  const bool text_mode = a.has("text");
  if (text_mode == a.has("shard"))
    throw UsageError{"give exactly one of --text FILE or --shard FILE"};

  // Tokens: bytes of a text file (vocab 256) or a token shard's ids.
  std::vector<int32_t> tokens;
  int64_t vocab = 256;
  if (text_mode) {
    const std::string text = loom::read_file(a.str("text"));
    tokens.assign(text.begin(), text.end());
    for (auto& t : tokens) t = static_cast<uint8_t>(t);
  } else {
    auto shard = loom::train::TokenShard::open(a.str("shard"));
    tokens.resize(static_cast<size_t>(shard.size()));
    shard.read(0, shard.size(), tokens.data());
    vocab = shard.vocab_size();
  }
  const double val_frac = a.number("val-frac", 0.1);
  if (!(val_frac >= 0 && val_frac < 0.5)) throw UsageError{"flag --val-frac: expected [0, 0.5)"};
  const int64_t n_val = static_cast<int64_t>(static_cast<double>(tokens.size()) * val_frac);
  const int64_t n_train = static_cast<int64_t>(tokens.size()) - n_val;

  loom::nn::CausalLmConfig c;
  const std::string arch = a.str("arch", "llama");
  if (arch != "llama" && arch != "gpt2") throw UsageError{"flag --arch: expected llama or gpt2"};
  c.arch = arch == "gpt2" ? loom::nn::Arch::Gpt2 : loom::nn::Arch::Llama;
  c.vocab_size = vocab;
  c.d_model = a.integer("d-model", 128);
  c.n_layers = a.integer("layers", 4);
  c.n_heads = a.integer("heads", 4);
  c.n_kv_heads = a.integer("kv-heads", c.n_heads);
  c.d_ff = a.integer(
      "ff", c.arch == loom::nn::Arch::Gpt2 ? 4 * c.d_model : (8 * c.d_model / 3 + 31) / 32 * 32);
  loom::train::TrainConfig tc;
  tc.seq = a.integer("seq", 128);
  c.max_seq = tc.seq;
  tc.batch = a.integer("batch", 16);
  tc.grad_accum = a.integer("accum", 1);
  const int64_t steps = a.integer("steps", 1000);
  tc.schedule.lr = static_cast<float>(a.number("lr", 1e-3));
  tc.schedule.min_lr = static_cast<float>(a.number("min-lr", tc.schedule.lr / 10));
  tc.schedule.warmup = a.integer("warmup", 100);
  tc.schedule.total_steps = steps;
  tc.schedule.decay = decay_of(a.str("decay", "cosine"));
  tc.adamw.weight_decay = static_cast<float>(a.number("wd", 0.1));
  tc.adamw.beta2 = 0.95f;
  tc.clip = static_cast<float>(a.number("clip", 1.0));
  tc.seed = static_cast<uint64_t>(a.integer("seed", 1));
  tc.compute = a.flag("bf16") ? loom::nn::Compute::BF16 : loom::nn::Compute::F32;
  const int64_t eval_every = a.integer("eval-every", 100),
                eval_batches = a.integer("eval-batches", 8);
  const int64_t save_every = a.integer("save-every", 100);

  loom::ThreadPool pool(a.threads());
  loom::nn::CausalLm model(c);
  model.init(tc.seed);
  model.exclude_norms_and_biases_from_decay();
  loom::train::CausalLmTrainer trainer(model, tokens.data(), n_train, tc, pool);

  ::mkdir(out.c_str(), 0755);
  const std::string ckpt = out + "/checkpoint.loom", log_path = out + "/log.csv";
  if (a.flag("resume")) {
    trainer.load_checkpoint(ckpt);
    // Drop log lines past the checkpoint (a run stopped between saves logged them already).
    std::ifstream in(log_path);
    std::string line, kept;
    while (std::getline(in, line))
      if (line.rfind("step", 0) == 0 || std::atoll(line.c_str()) <= trainer.steps_done())
        kept += line + "\n";
    loom::write_file_atomic(log_path, kept);
  } else if (file_exists(ckpt)) {
    throw Error(ckpt + " exists: pass --resume to continue it or choose another --out");
  }
  std::ofstream log(log_path, a.flag("resume") ? std::ios::app : std::ios::trunc);
  if (!log) throw Error(log_path + ": cannot open for writing");
  if (!a.flag("resume")) log << "step,loss,lr,grad_norm,tokens_per_s,val_loss\n";

  const int64_t tok_per_step = tc.batch * tc.seq * tc.grad_accum;
  loom::Progress bar("train", (steps - trainer.steps_done()) * tok_per_step, "tok",
                     loom::stderr_is_tty());
  float val = NAN, loss = NAN;
  auto t0 = std::chrono::steady_clock::now();
  int64_t done_tokens = 0;
  const int64_t stop_at = a.integer("stop-at", steps);
  while (trainer.steps_done() < std::min(steps, stop_at)) {
    auto ts = std::chrono::steady_clock::now();
    loom::train::StepStats st = trainer.step();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
    loss = st.loss;
    done_tokens += tok_per_step;
    const bool last = st.step == steps || st.step == stop_at;
    std::string val_s;
    if (n_val > tc.seq && (st.step % eval_every == 0 || last)) {
      val = trainer.evaluate(tokens.data() + n_train, n_val, eval_batches, tc.seed + 1);
      char b[32];
      std::snprintf(b, sizeof b, "%.4f", val);
      val_s = b;
    }
    char line[160];
    std::snprintf(line, sizeof line, "%lld,%.5f,%.3g,%.4f,%.1f,%s", static_cast<long long>(st.step),
                  st.loss, st.lr, st.grad_norm, static_cast<double>(tok_per_step) / secs,
                  val_s.c_str());
    log << line << "\n" << std::flush;
    if (st.step % save_every == 0 || last) trainer.save_checkpoint(ckpt);
    char extra[96];
    std::snprintf(extra, sizeof extra, "loss %.3f val %.3f", st.loss, val);
    bar.update(done_tokens, extra);
  }
  bar.finish();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::string sample;
  const int64_t n_sample = a.integer("sample", text_mode ? 200 : 0);
  if (text_mode && n_sample > 0) {
    auto ids = loom::train::sample_tokens(model, pool, {'\n'}, n_sample, 0.8f, tc.seed);
    for (size_t i = 1; i < ids.size(); ++i) sample += static_cast<char>(ids[i]);
  }
  if (a.json()) {
    std::printf(
        "{\"steps\": %lld, \"loss\": %.5f, \"val_loss\": %.5f, \"seconds\": %.1f, "
        "\"params\": %lld, \"checkpoint\": %s, \"sample\": %s}\n",
        static_cast<long long>(trainer.steps_done()), loss, val, secs,
        static_cast<long long>(model.params().count()), loom::cli::json_quote(ckpt).c_str(),
        loom::cli::json_quote(sample).c_str());
  } else {
    std::printf(
        "steps\t%lld\nloss\t%.4f\nval_loss\t%.4f\nparams\t%lld\nseconds\t%.1f\n"
        "checkpoint\t%s\nlog\t%s\n",
        static_cast<long long>(trainer.steps_done()), loss, val,
        static_cast<long long>(model.params().count()), secs, ckpt.c_str(), log_path.c_str());
    if (!sample.empty()) std::printf("sample\n%s\n", sample.c_str());
  }
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "train", "pre-train a causal LM (Llama or GPT-2 layout) on a text file or token shard",
    {
        {"text", "FILE", "train on the bytes of a text file (vocab 256)", ""},
        {"shard", "FILE", "train on a token shard (loom data tokenize)", ""},
        {"out", "DIR", "run folder: checkpoint.loom, log.csv", ""},
        {"resume", "", "continue DIR/checkpoint.loom exactly", ""},
        {"arch", "NAME", "llama or gpt2", "llama"},
        {"d-model", "N", "model width", "128"},
        {"layers", "N", "transformer blocks", "4"},
        {"heads", "N", "attention heads", "4"},
        {"kv-heads", "N", "key/value heads (llama: GQA/MQA)", "heads"},
        {"ff", "N", "MLP width", "4d (gpt2), 8d/3 (llama)"},
        {"seq", "N", "tokens per sequence", "128"},
        {"batch", "N", "sequences per micro-batch", "16"},
        {"accum", "N", "micro-batches per step", "1"},
        {"steps", "N", "optimiser steps", "1000"},
        {"lr", "X", "peak learning rate", "1e-3"},
        {"min-lr", "X", "final learning rate", "lr/10"},
        {"warmup", "N", "linear warmup steps", "100"},
        {"decay", "KIND", "cosine, linear or constant", "cosine"},
        {"wd", "X", "AdamW weight decay (matrices only)", "0.1"},
        {"clip", "X", "global gradient-norm bound (0: off)", "1.0"},
        {"seed", "N", "init and batch-sampling seed", "1"},
        {"bf16", "", "bf16 matmuls with fp32 master weights", ""},
        {"val-frac", "X", "last fraction of the tokens held out for validation", "0.1"},
        {"eval-every", "N", "steps between validation losses", "100"},
        {"eval-batches", "N", "batches per validation loss", "8"},
        {"save-every", "N", "steps between checkpoints", "100"},
        {"stop-at", "N", "stop (with a checkpoint) after step N, as if interrupted", ""},
        {"sample", "N", "bytes to sample at the end (text mode)", "200"},
    },
    run_train,
    "Same seed, data and --threads give the same loss curve; --resume continues with exactly\n"
    "the losses of an uninterrupted run. A NaN/Inf loss stops the run with an error and\n"
    "leaves the last good checkpoint in place.");
