#include "cmd_train_rnn.h"

#include <cmath>
#include <cstdio>

#include "core/progress.h"
#include "models/recurrent.h"
#include "train/rnn_lm_run.h"
#include "train_flags.h"

namespace loom::cli {

bool is_recurrent_arch(const std::string& arch) {
  return arch == "lstm" || arch == "gru" || arch == "rnn_tanh" || arch == "rnn_relu";
}

namespace {

train::RnnLmRunOptions recurrent_options(const Args& a) {
  if (!a.has("text")) throw UsageError{"--arch " + a.str("arch") + " needs --text FILE"};
  if (!a.has("val-text") && a.integer("heldout-every", 0) < 2)
    throw UsageError{"--arch " + a.str("arch") +
                     ": give --val-text FILE or --heldout-every N >= 2"};
  // Flags of the decoder runs that this run does not implement: refused, never ignored.
  for (const char* f :
       {"shard", "val-shard",  "init",         "resume",     "tokenizer",    "bf16",  "accum",
        "train", "base-vocab", "lora-rank",    "lora-alpha", "lora-targets", "heads", "kv-heads",
        "ff",    "val-frac",   "eval-batches", "save-every", "stop-at",      "sample"})
    if (a.has(f))
      throw UsageError{std::string("--") + f + " is not supported with a recurrent --arch"};
  train::RnnLmRunOptions o;
  o.text = a.need("text");
  o.val_text = a.str("val-text");
  o.heldout_every = a.integer("heldout-every", 0);
  o.out = a.str("out");
  o.model.kind = models::cell_kind_from_name(a.str("arch"));
  o.model.emb_size = o.model.hidden_size = a.integer("d-model", 200);
  o.model.num_layers = a.integer("layers", 2);
  o.model.dropout = static_cast<float>(a.number("dropout", 0.2));
  o.model.tied = a.flag("tie");
  train::RnnLmTrainConfig& tc = o.train;
  tc.batch = a.integer("batch", 20);
  tc.bptt = a.integer("seq", 35);
  tc.schedule = schedule_flags(a, 2e-3, 0);
  tc.adamw.weight_decay = static_cast<float>(a.number("wd", 0.0));
  tc.clip = static_cast<float>(a.number("clip", 0.25));
  tc.seed = static_cast<uint64_t>(a.integer("seed", 1));
  o.steps = a.integer("steps", 1000);
  o.eval_every = a.integer("eval-every", 200);
  return o;
}

}  // namespace

int run_train_recurrent(const Args& a) {
  const train::RnnLmRunOptions o = recurrent_options(a);
  ThreadPool pool(a.threads());
  Progress bar("train", o.steps * o.train.batch * o.train.bptt, "tok", stderr_is_tty());
  const train::RnnLmRunResult r =
      train::run_rnn_lm(o, pool, [&](const train::StepStats& s, float val, int64_t tokens) {
        char extra[96];
        std::snprintf(extra, sizeof extra, "loss %.3f val %.3f", s.loss, val);
        bar.update(tokens, extra);
      });
  bar.finish();
  if (a.json()) {
    std::printf(
        "{\"arch\": \"%s\", \"steps\": %lld, \"vocab\": %lld, \"loss\": %.5f, "
        "\"val_loss_before\": %.5f, \"val_loss\": %.5f, \"val_ppl\": %.3f, \"params\": %lld, "
        "\"train_tokens\": %lld, \"val_tokens\": %lld, \"seconds\": %.1f, \"model\": %s}\n",
        a.str("arch").c_str(), static_cast<long long>(r.steps), static_cast<long long>(r.vocab),
        r.loss, r.val_loss_before, r.val_loss, std::exp(r.val_loss),
        static_cast<long long>(r.params), static_cast<long long>(r.train_tokens),
        static_cast<long long>(r.val_tokens), r.seconds, json_quote(r.model_dir).c_str());
    return 0;
  }
  models::RnnLmConfig shown = o.model;
  shown.vocab_size = r.vocab;
  std::printf(
      "model\t%s\nsteps\t%lld\nvocab\t%lld\nloss\t%.4f\nval_loss_before\t%.4f (perplexity %.1f)\n"
      "val_loss\t%.4f (perplexity %.1f)\nparams\t%lld\ntrain_tokens\t%lld\nval_tokens\t%lld\n"
      "seconds\t%.1f\nout\t%s\n",
      shown.describe().c_str(), static_cast<long long>(r.steps), static_cast<long long>(r.vocab),
      r.loss, r.val_loss_before, std::exp(r.val_loss_before), r.val_loss, std::exp(r.val_loss),
      static_cast<long long>(r.params), static_cast<long long>(r.train_tokens),
      static_cast<long long>(r.val_tokens), r.seconds, r.model_dir.c_str());
  return 0;
}

}  // namespace loom::cli
