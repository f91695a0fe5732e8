// `loom train --objective mlm|span|denoise` (see cmd_train_finetune.h): masked-LM pre-training of
// an encoder, T5 span corruption or BART denoising of an encoder-decoder, through
// train/mlm_run.h. Parsing and printing only.
#include <cstdio>
#include <string>

#include "cmd_train_finetune.h"
#include "core/progress.h"
#include "train/mlm_run.h"
#include "train_flags.h"

namespace loom::cli {
namespace {

train::MlmRunOptions mlm_options(const Args& a) {
  for (const char* f :
       {"task", "data", "eval", "shard", "val-shard", "arch", "train", "sample", "pooling"})
    if (a.has(f))
      throw UsageError{std::string("--") + f + " does not go with --objective " +
                       a.str("objective")};
  train::MlmRunOptions o;
  const std::string objective = a.str("objective");
  o.objective = objective == "span"      ? train::Objective::Span
                : objective == "denoise" ? train::Objective::Denoise
                                         : train::Objective::Mlm;
  if (o.objective != train::Objective::Mlm && (a.has("mlm-probability") || a.has("whole-word")))
    throw UsageError{"--mlm-probability and --whole-word go with --objective mlm"};
  o.text = a.need("text");
  o.heldout_every = a.integer("heldout-every", 0);
  o.config = a.str("config");
  o.init = a.str("init");
  o.tokenizer = a.str("tokenizer");
  o.out = a.need("out");
  o.resume = a.flag("resume");
  o.seq = a.integer("seq", 128);
  train_config_flags(a, o.train, 32, 5e-4, 100, 0.01);
  o.steps = a.integer("steps", 1000);
  o.eval_every = a.integer("eval-every", 100);
  o.save_every = a.integer("save-every", 100);
  o.stop_at = a.integer("stop-at", 0);
  o.probability = a.number("mlm-probability", 0.15);
  o.whole_word = a.flag("whole-word");
  if (!(o.probability > 0 && o.probability < 1))
    throw UsageError{"flag --mlm-probability: expected (0, 1)"};
  return o;
}

}  // namespace

int run_train_mlm(const Args& a) {
  const train::MlmRunOptions o = mlm_options(a);
  ThreadPool pool(a.threads());
  train::MlmRun run(o, pool, [](const std::string& note) {
    std::fprintf(stderr, "loom train: %s\n", note.c_str());
  });
  Progress bar("train", run.tokens_to_train(), "tok", stderr_is_tty());
  const train::MlmRunResult r = run.train([&](const train::MlmStepReport& s) {
    char extra[96];
    std::snprintf(extra, sizeof extra, "loss %.3f val %.3f", s.stats.loss, s.val_loss);
    bar.update(s.tokens_done, extra);
  });
  bar.finish();
  std::printf(
      "objective\t%s\nsteps\t%lld\nloss\t%.4f\nval_loss_before\t%.4f\nval_loss\t%.4f\n"
      "params\t%lld\ntrain_sequences\t%lld\nval_sequences\t%lld\ntrain_tokens\t%lld\n"
      "seconds\t%.1f\nmodel\t%s\ncheckpoint\t%s\nlog\t%s\nplot\t%s\n",
      a.str("objective").c_str(), static_cast<long long>(r.steps), r.loss, r.val_loss_before,
      r.val_loss, static_cast<long long>(r.params), static_cast<long long>(r.train_sequences),
      static_cast<long long>(r.val_sequences), static_cast<long long>(r.train_tokens), r.seconds,
      r.model_dir.c_str(), r.checkpoint.c_str(), r.log.c_str(), r.plot.c_str());
  return 0;
}

}  // namespace loom::cli
