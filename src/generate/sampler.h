// Token samplers over one row of logits.
//
// Sampler: the usual pipeline, in this order: repetition / frequency / presence penalties over the
// recent history -> greedy when temperature <= 0 -> top-k -> softmax(logits / temperature) ->
// top-p (smallest set whose probability reaches p) -> min-p (drop tokens below min_p * p_max) ->
// renormalise -> draw with loom::Rng seeded by `seed`.
//
// Llama2cSampler: llama2.c run.c's sampler exactly, so seeded runs reproduce its text: xorshift
// RNG (one coin per step), logits / temperature, softmax, then multinomial or its top-p (keep
// probs >= (1 - p) / (n - 1), sort descending, cut after the cumulative probability exceeds p,
// pick the first index whose running sum exceeds coin * cumulative).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/rng.h"

namespace loom::generate {

struct SamplerConfig {
  float temperature = 1.0f;         // <= 0: greedy
  int32_t top_k = 0;                // 0: off
  float top_p = 1.0f;               // >= 1: off
  float min_p = 0.0f;               // 0: off
  float repetition_penalty = 1.0f;  // 1: off; > 1 discourages repeats (CTRL / llama.cpp rule)
  float frequency_penalty = 0.0f;   // logit -= count * frequency_penalty
  float presence_penalty = 0.0f;    // logit -= presence_penalty if the token occurred
  int32_t penalty_last_n = 64;      // history window for the penalties (0: all)
  uint64_t seed = 0;
};

// Index of the largest value (the first one on ties).
int32_t argmax(std::span<const float> logits);

class Sampler {
 public:
  explicit Sampler(SamplerConfig config);
  const SamplerConfig& config() const { return config_; }
  // Draws the next token. `logits` is modified (penalties, temperature, probabilities);
  // `history` holds the tokens so far (prompt included) for the penalties.
  int32_t sample(std::span<float> logits, std::span<const int32_t> history);
  // The distribution sample() draws from (temperature > 0): every kept token as (probability,
  // id), most probable first, probabilities summing to 1 (the same processing as Hugging Face's
  // logits processors and warpers; tests/generate/sampler_test.cpp holds it to a PyTorch golden).
  // Valid until the next call; `logits` is modified as by sample().
  const std::vector<std::pair<float, int32_t>>& distribution(std::span<float> logits,
                                                             std::span<const int32_t> history);

 private:
  void filter(std::span<float> logits, std::span<const int32_t> history);
  void softmax_candidates();
  void keep_top_p();
  void keep_min_p();

  SamplerConfig config_;
  Rng rng_;
  std::vector<std::pair<float, int32_t>> cand_;
};

class Llama2cSampler {
 public:
  Llama2cSampler(float temperature, float topp, uint64_t seed)
      : temperature_(temperature), topp_(topp), rng_(seed) {}
  int32_t sample(std::span<float> logits);

 private:
  float temperature_, topp_;
  XorShiftRng rng_;
  std::vector<std::pair<float, int32_t>> index_;
};

// Penalties alone (used by Sampler; exposed for tests and beam search).
void apply_penalties(std::span<float> logits, std::span<const int32_t> history,
                     const SamplerConfig& config);

}  // namespace loom::generate
