// Sampled completions of held-out prompts from a fine-tuned policy, and the policy's KL to its
// reference on them: what an SFT or DPO run reports besides its losses (the rate at which the
// samples satisfy a rule is the caller's to measure on the text).
//
// KL(policy || reference) is the standard Monte-Carlo estimator over the policy's own samples
// (Schulman's k1, what TRL's trainers log as objective/kl): the mean over every sampled token t
// (EOS included) of log π(y_t | x, y_<t) − log π_ref(y_t | x, y_<t), with y drawn from π at
// temperature 1. Unbiased for the per-token KL of the sampled sequences; a single estimate may
// be negative.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/threads.h"
#include "models/causal_lm.h"

namespace loom::train {

struct SampleEvalOptions {
  int64_t samples_per_prompt = 4;
  int64_t max_new = 32;  // new tokens at most (fewer where the context would overflow)
  float temperature = 1.0f;
  uint64_t seed = 1;
  int32_t eos = -1;  // a sample stops after drawing it; -1: none
};

struct SampledCompletion {
  int64_t prompt = 0;           // index into the prompts
  std::vector<int32_t> tokens;  // the new tokens (EOS included when drawn)
  bool ended = false;           // stopped at EOS
};

struct SampleEval {
  std::vector<SampledCompletion> samples;  // prompt-major, samples_per_prompt each
  double kl = NAN;                         // per sampled token; NaN without a reference
  int64_t tokens = 0;                      // sampled tokens the KL averages over
};

// Draws samples_per_prompt completions of every prompt from policy (all rows in one batch, one
// forward per new token, seeded: the same inputs give the same samples) and, with a reference,
// the KL above. Prompts must be non-empty and shorter than the policy's context.
SampleEval sample_completions(models::CausalLm& policy, models::CausalLm* reference,
                              const std::vector<std::vector<int32_t>>& prompts,
                              const SampleEvalOptions& o, ThreadPool& pool);

}  // namespace loom::train
