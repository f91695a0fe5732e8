// Sampled completions and their KL to a reference (see sample_eval.h).
#include "train/sample_eval.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "generate/sampler.h"

namespace loom::train {

namespace {

// log softmax(row)[id] of one logits row (n).
double log_prob(const float* row, int64_t n, int32_t id) {
  float m = row[0];
  for (int64_t i = 1; i < n; ++i) m = std::max(m, row[i]);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(row[i] - m));
  return static_cast<double>(row[id] - m) - std::log(s);
}

// The growing batch: every row a prompt followed by its samples so far, right-padded to T.
struct Rows {
  int64_t B = 0, T = 0;
  std::vector<int32_t> ids;
  std::vector<int64_t> len;
  std::vector<bool> done;
};

Rows start_rows(const std::vector<std::vector<int32_t>>& prompts, const SampleEvalOptions& o,
                int64_t context) {
  Rows r;
  r.B = static_cast<int64_t>(prompts.size()) * o.samples_per_prompt;
  int64_t longest = 0;
  for (const auto& p : prompts) {
    if (p.empty() || static_cast<int64_t>(p.size()) >= context)
      throw Error("sample eval: a prompt of " + std::to_string(p.size()) +
                  " tokens; expected 1 to " + std::to_string(context - 1));
    longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
  }
  r.T = std::min(context, longest + o.max_new);
  r.ids.assign(static_cast<size_t>(r.B * r.T), 0);
  for (int64_t b = 0; b < r.B; ++b) {
    const auto& p = prompts[static_cast<size_t>(b / o.samples_per_prompt)];
    std::copy(p.begin(), p.end(), r.ids.begin() + b * r.T);
    r.len.push_back(static_cast<int64_t>(p.size()));
  }
  r.done.assign(static_cast<size_t>(r.B), false);
  return r;
}

}  // namespace

SampleEval sample_completions(models::CausalLm& policy, models::CausalLm* reference,
                              const std::vector<std::vector<int32_t>>& prompts,
                              const SampleEvalOptions& o, ThreadPool& pool) {
  LOOM_ASSERT(o.samples_per_prompt > 0 && o.max_new > 0, "sample eval: nothing to sample");
  Rows r = start_rows(prompts, o, policy.config().context_length);
  const int64_t V = policy.config().vocab_size;
  SampleEval out;
  out.samples.resize(static_cast<size_t>(r.B));
  for (int64_t b = 0; b < r.B; ++b) out.samples[b].prompt = b / o.samples_per_prompt;
  generate::Sampler sampler({.temperature = o.temperature, .seed = o.seed});
  double kl_sum = 0;
  std::vector<float> row(static_cast<size_t>(V));
  nn::Tape tp(pool), tr(pool);  // reset each step, keeping their memory
  tp.set_grad_enabled(false);
  tr.set_grad_enabled(false);
  for (int64_t step = 0; step < o.max_new; ++step) {
    tp.reset();
    tr.reset();
    const float* lp = tp.data(policy.logits(tp, r.ids.data(), r.B, r.T));
    const float* lr = reference ? tr.data(reference->logits(tr, r.ids.data(), r.B, r.T)) : nullptr;
    bool any = false;
    for (int64_t b = 0; b < r.B; ++b) {
      if (r.done[b] || r.len[b] >= r.T) continue;
      const int64_t at = (b * r.T + r.len[b] - 1) * V;
      row.assign(lp + at, lp + at + V);
      const int32_t next =
          sampler.sample(row, {r.ids.data() + b * r.T, static_cast<size_t>(r.len[b])});
      if (lr) kl_sum += log_prob(lp + at, V, next) - log_prob(lr + at, V, next);
      ++out.tokens;
      r.ids[b * r.T + r.len[b]++] = next;
      out.samples[b].tokens.push_back(next);
      r.done[b] = next == o.eos;
      out.samples[b].ended = r.done[b];
      any = true;
    }
    if (!any) break;
  }
  if (reference && out.tokens > 0) out.kl = kl_sum / static_cast<double>(out.tokens);
  return out;
}

}  // namespace loom::train
