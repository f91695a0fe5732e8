// A fine-tuning run's sampled completions of its held-out prompts
// (FinetuneRunOptions::sample_eval).
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "train/finetune_run.h"

namespace loom::train {

namespace {

// The tokens before an example's first trained label: its prompt.
std::vector<int32_t> prompt_of(const SftExample& e) {
  size_t n = 0;
  while (n < e.labels.size() && e.labels[n] == kIgnoreLabel) ++n;
  return {e.ids.begin(), e.ids.begin() + static_cast<std::ptrdiff_t>(n)};
}

}  // namespace

std::vector<std::vector<int32_t>> FinetuneRun::heldout_prompts() const {
  std::vector<std::vector<int32_t>> out;
  for (const SftExample& e : val_sft_) out.push_back(prompt_of(e));
  for (const PreferenceExample& p : val_pairs_) out.push_back(prompt_of(p.chosen));
  if (out.empty())
    throw Error("sample eval: no held-out examples (give --eval or --heldout-every)");
  return out;
}

// One JSON line per sample: prompt and completion text (invalid UTF-8 of a cut-off token
// replaced), whether it stopped at EOS, and its token count.
SampleEval FinetuneRun::write_samples(const std::string& file, models::CausalLm* reference) {
  const std::vector<std::vector<int32_t>> prompts = heldout_prompts();
  SampleEvalOptions so;
  so.samples_per_prompt = o_.sample_eval;
  so.max_new = o_.sample_tokens;
  so.seed = o_.train.seed;
  so.eos = tok_->eos_id();
  const SampleEval e = sample_completions(*model_, reference, prompts, so, pool_);
  std::string text;
  for (const SampledCompletion& s : e.samples) {
    nlohmann::json j;
    j["prompt"] = tok_->decode(prompts[static_cast<size_t>(s.prompt)], true);
    j["completion"] = tok_->decode(s.tokens, true);
    j["ended"] = s.ended;
    j["tokens"] = s.tokens.size();
    text += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  write_file_atomic(file, text);
  return e;
}

}  // namespace loom::train
