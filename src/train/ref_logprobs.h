// DPO's reference log-probabilities, computed once and kept on disk beside the run, so the
// reference model is not held in memory while the policy trains and a resumed run reuses them.
//
// File "LOOMREFL": magic, u32 version 1, u64 pair count, the sha256 (64 hex bytes) of the
// preference data's token ids and labels (so a cache built from other data, another tokenizer or
// another truncation is refused), then per pair f32 chosen, f32 rejected, then an FNV-1a-64 of
// everything before. Written atomically (temporary name, fsync, rename).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/threads.h"
#include "models/causal_lm.h"
#include "train/sft_data.h"

namespace loom::train {

struct RefLogprobs {
  std::vector<float> chosen, rejected;  // per pair: sum of log p(response token) under the model
  std::string data_sha256;              // of the pairs they were computed on
};

// sha256 over every pair's ids and labels (lengths included), in order.
std::string preference_data_sha256(const std::vector<PreferenceExample>& pairs);
// Sequence log-probabilities of each pair's chosen and rejected response (no gradients), in
// batches of `batch` sequences padded to `seq`.
RefLogprobs compute_ref_logprobs(models::CausalLm& model,
                                 const std::vector<PreferenceExample>& pairs, int64_t batch,
                                 int64_t seq, ThreadPool& pool);
void save_ref_logprobs(const RefLogprobs& r, const std::string& path);
// Loads and checks the file; a loom::Error names the file and what is wrong (truncated, bad
// checksum, or computed on other data than `expected_sha256`).
RefLogprobs load_ref_logprobs(const std::string& path, const std::string& expected_sha256);

}  // namespace loom::train
