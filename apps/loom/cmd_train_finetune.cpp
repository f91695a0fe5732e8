// `loom train --task sft|dpo|reward|classify|token-classify` (see cmd_train_finetune.h).
#include "cmd_train_finetune.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "core/progress.h"
#include "eval/classification.h"
#include "train/finetune_run.h"
#include "train_flags.h"

namespace loom::cli {
namespace {

train::FinetuneRunOptions finetune_options(const Args& a) {
  for (const char* f : {"text", "shard", "val-shard", "base-vocab", "sample", "val-frac"})
    if (a.has(f))
      throw UsageError{std::string("--") + f + " goes with --task clm; --task " + a.str("task") +
                       " reads --data"};
  train::FinetuneRunOptions o;
  o.task = train::parse_task(a.str("task"));
  o.data = a.need("data");
  o.eval = a.str("eval");
  o.heldout_every = a.integer("heldout-every", 0);
  o.num_labels = a.integer("num-labels", 0);
  if (a.has("pooling")) {
    const std::string p = a.str("pooling");
    if (p != "mean" && p != "last" && p != "cls")
      throw UsageError{"flag --pooling: expected mean, last or cls"};
    o.pooling = pooling_from_name(p);
  }
  o.init = a.need("init");
  o.tokenizer = a.str("tokenizer");
  o.chat_template = a.str("chat-template");
  o.out = a.need("out");
  o.resume = a.flag("resume");
  train_mode_flags(a, o.mode, o.lora);
  o.seq = a.integer("seq", 0);
  train_config_flags(a, o.train, 8, 1e-4, 10, 0.0);
  o.steps = a.integer("steps", 100);
  o.eval_every = a.integer("eval-every", 20);
  o.save_every = a.integer("save-every", 20);
  o.stop_at = a.integer("stop-at", 0);
  o.pack = a.flag("pack");
  o.sample_eval = a.integer("sample-eval", 0);
  o.sample_tokens = a.integer("sample-tokens", 32);
  if (o.pack && o.task != train::Task::Sft) throw UsageError{"--pack goes with --task sft"};
  if (o.sample_eval < 0 || o.sample_tokens <= 0)
    throw UsageError{"flags --sample-eval, --sample-tokens: expected N >= 0, N > 0"};
  o.dpo.beta = static_cast<float>(a.number("beta", 0.1));
  o.dpo.label_smoothing = static_cast<float>(a.number("label-smoothing", 0.0));
  const std::string loss = a.str("loss", "sigmoid");
  if (loss != "sigmoid" && loss != "ipo") throw UsageError{"flag --loss: expected sigmoid or ipo"};
  o.dpo.ipo = loss == "ipo";
  if (!(o.dpo.beta > 0)) throw UsageError{"flag --beta: expected > 0"};
  if (!(o.dpo.label_smoothing >= 0 && o.dpo.label_smoothing < 0.5))
    throw UsageError{"flag --label-smoothing: expected [0, 0.5)"};
  if (o.task != train::Task::Dpo && (a.has("beta") || a.has("label-smoothing") || a.has("loss")))
    throw UsageError{"--beta, --label-smoothing and --loss go with --task dpo"};
  return o;
}

// A number for JSON: null when NaN (a metric not measured, e.g. before-training figures of a
// resumed run).
std::string json_num(double v, const char* format) {
  if (std::isnan(v)) return "null";
  char b[48];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

// token-classify with held-out data: the entity-level (micro) F1; NaN otherwise.
double val_entity_f1(const train::FinetuneRunResult& r) {
  if (r.val_tags.empty()) return NAN;
  return eval::entity_report(r.val_tags, r.val_predicted_tags).micro.f1;
}

// classify with held-out data: macro-F1 of the final model's predictions (token-classify: over
// the labelled tokens' tags); NaN otherwise.
double val_macro_f1(const train::FinetuneRunResult& r) {
  if (r.val_labels.empty() || r.val_predicted.size() != r.val_labels.size()) return NAN;
  return eval::classification_report(r.val_labels, r.val_predicted, r.num_labels).macro_f1;
}

void print_json(const train::FinetuneRunResult& r) {
  std::printf(
      "{\"task\": \"%s\", \"steps\": %lld, \"train\": \"%s\", \"loss\": %s, "
      "\"val_loss_before\": %s, \"val_loss\": %s, \"val_accuracy_before\": %s, "
      "\"val_accuracy\": %s, \"val_margin\": %s, \"seconds\": %.1f, \"params\": %lld, "
      "\"trainable\": %lld, \"train_examples\": %lld, \"val_examples\": %lld, \"model\": %s, "
      "\"checkpoint\": %s, \"adapter\": %s, \"ref_cache\": %s, \"ref_reused\": %s, "
      "\"val_macro_f1\": %s, \"val_entity_f1\": %s, \"sequences\": %lld, "
      "\"real_tokens_per_s\": %s, \"kl_ref\": %s, \"kl_tokens\": %lld, \"samples\": %s}\n",
      r.task.c_str(), static_cast<long long>(r.steps), r.mode.c_str(),
      json_num(r.loss, "%.5f").c_str(), json_num(r.val_loss_before, "%.5f").c_str(),
      json_num(r.val_loss, "%.5f").c_str(), json_num(r.val_accuracy_before, "%.4f").c_str(),
      json_num(r.val_accuracy, "%.4f").c_str(), json_num(r.val_margin, "%.4f").c_str(), r.seconds,
      static_cast<long long>(r.params), static_cast<long long>(r.trainable),
      static_cast<long long>(r.train_examples), static_cast<long long>(r.val_examples),
      json_quote(r.model_dir).c_str(), json_quote(r.checkpoint).c_str(),
      json_quote(r.adapter).c_str(), json_quote(r.ref_cache).c_str(),
      r.ref_reused ? "true" : "false", json_num(val_macro_f1(r), "%.4f").c_str(),
      json_num(val_entity_f1(r), "%.4f").c_str(), static_cast<long long>(r.sequences),
      json_num(r.real_tokens_per_s, "%.1f").c_str(), json_num(r.kl_ref, "%.5f").c_str(),
      static_cast<long long>(r.kl_tokens), json_quote(r.samples).c_str());
}

void print_text(const train::FinetuneRunResult& r) {
  std::printf(
      "task\t%s\nsteps\t%lld\ntrain\t%s\nloss\t%.4f\nval_loss_before\t%.4f\nval_loss\t%.4f\n"
      "params\t%lld\ntrainable\t%lld\ntrain_examples\t%lld\nval_examples\t%lld\nseconds\t%.1f\n"
      "model\t%s\ncheckpoint\t%s\nlog\t%s\nplot\t%s\n",
      r.task.c_str(), static_cast<long long>(r.steps), r.mode.c_str(), r.loss, r.val_loss_before,
      r.val_loss, static_cast<long long>(r.params), static_cast<long long>(r.trainable),
      static_cast<long long>(r.train_examples), static_cast<long long>(r.val_examples), r.seconds,
      r.model_dir.c_str(), r.checkpoint.c_str(), r.log.c_str(), r.plot.c_str());
  if (!std::isnan(r.val_accuracy))
    std::printf("val_accuracy\t%.4f -> %.4f\n", r.val_accuracy_before, r.val_accuracy);
  if (!std::isnan(r.val_margin)) std::printf("val_margin\t%.4f\n", r.val_margin);
  if (!std::isnan(r.real_tokens_per_s))
    std::printf("sequences\t%lld\nreal_tokens_per_s\t%.1f\n", static_cast<long long>(r.sequences),
                r.real_tokens_per_s);
  if (!r.samples.empty())
    std::printf("samples\t%s\nkl_ref\t%.5f per token (%lld sampled tokens)\n", r.samples.c_str(),
                r.kl_ref, static_cast<long long>(r.kl_tokens));
  if (!r.ref_cache.empty())
    std::printf("ref_cache\t%s (%s)\n", r.ref_cache.c_str(), r.ref_reused ? "reused" : "computed");
  if (!r.adapter.empty())
    std::printf("adapter\t%s (PEFT layout, %lld bytes)\n", r.adapter.c_str(),
                static_cast<long long>(r.adapter_bytes));
  if (!r.val_tags.empty())
    std::printf(
        "%s",
        eval::format_entity_report(eval::entity_report(r.val_tags, r.val_predicted_tags)).c_str());
  else if (!r.val_labels.empty() && r.val_predicted.size() == r.val_labels.size())
    std::printf("%s", eval::format_report(
                          eval::classification_report(r.val_labels, r.val_predicted, r.num_labels))
                          .c_str());
}

}  // namespace

int run_train_finetune(const Args& a) {
  const train::FinetuneRunOptions o = finetune_options(a);
  ThreadPool pool(a.threads());
  train::FinetuneRun run(o, pool, [](const std::string& note) {
    std::fprintf(stderr, "loom train: %s\n", note.c_str());
  });
  Progress bar("train", run.tokens_to_train(), "tok", stderr_is_tty());
  const train::FinetuneRunResult r = run.train([&](const train::FinetuneStepReport& s) {
    char extra[96];
    std::snprintf(extra, sizeof extra, "loss %.3f val %.3f", s.stats.loss, s.val_loss);
    bar.update(s.tokens_done, extra);
  });
  bar.finish();
  if (a.json())
    print_json(r);
  else
    print_text(r);
  return 0;
}

}  // namespace loom::cli
