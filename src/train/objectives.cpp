#include "train/objectives.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>

#include "core/error.h"

namespace loom::train {
namespace {

void check_mlm_config(const std::vector<int32_t>& ids, const MlmConfig& cfg, const char* what) {
  const std::string w = what;
  if (ids.empty()) throw Error(w + ": empty token sequence (expected at least one token)");
  if (cfg.vocab_size <= 0) throw Error(w + ": vocab_size must be > 0");
  if (cfg.mask_id < 0 || cfg.mask_id >= cfg.vocab_size)
    throw Error(w + ": mask_id " + std::to_string(cfg.mask_id) + " outside the vocabulary [0, " +
                std::to_string(cfg.vocab_size) + ")");
  if (!(cfg.probability > 0 && cfg.probability <= 1))
    throw Error(w + ": probability must be in (0, 1]");
  if (!(cfg.mask_fraction >= 0 && cfg.mask_fraction <= 1) ||
      !(cfg.random_fraction >= 0 && cfg.random_fraction <= 1))
    throw Error(w + ": mask_fraction and random_fraction must be in [0, 1]");
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= cfg.vocab_size)
      throw Error(w + ": token " + std::to_string(i) + " has id " + std::to_string(ids[i]) +
                  " outside the vocabulary [0, " + std::to_string(cfg.vocab_size) + ")");
}

// special[i] = 1 where ids[i] is one of cfg.special_ids; throws when nothing is maskable.
std::vector<uint8_t> special_flags(const std::vector<int32_t>& ids, const MlmConfig& cfg,
                                   const char* what) {
  const std::unordered_set<int32_t> special(cfg.special_ids.begin(), cfg.special_ids.end());
  std::vector<uint8_t> flags(ids.size());
  size_t maskable = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    flags[i] = special.count(ids[i]) ? 1 : 0;
    maskable += flags[i] ? 0 : 1;
  }
  if (maskable == 0)
    throw Error(std::string(what) + ": no maskable tokens (all " + std::to_string(ids.size()) +
                " are special ids)");
  return flags;
}

// The 80/10/10 rule over the chosen positions, consuming n + n uniforms and then one
// below(vocab_size) per random position (HF's mask_tokens after masked_indices is known).
MaskedExample replace_chosen(const std::vector<int32_t>& ids, const std::vector<uint8_t>& chosen,
                             const MlmConfig& cfg, Draws& draws) {
  const size_t n = ids.size();
  std::vector<double> u_mask(n), u_random(n);
  for (auto& u : u_mask) u = draws.uniform();
  for (auto& u : u_random) u = draws.uniform();
  MaskedExample out{ids, std::vector<int32_t>(n, kIgnoreLabel)};
  for (size_t i = 0; i < n; ++i) {
    if (!chosen[i]) continue;
    out.labels[i] = ids[i];
    if (u_mask[i] < cfg.mask_fraction) {
      out.input_ids[i] = cfg.mask_id;
    } else if (u_random[i] < cfg.random_fraction) {
      out.input_ids[i] = static_cast<int32_t>(draws.below(static_cast<uint64_t>(cfg.vocab_size)));
    }
  }
  return out;
}

// Fisher-Yates from the back, as Python's random.shuffle and numpy's shuffle do it.
template <typename T>
void shuffle_with(std::vector<T>& v, Draws& draws) {
  for (size_t i = v.size(); i-- > 1;) {
    const size_t j = static_cast<size_t>(draws.below(i + 1));
    std::swap(v[i], v[j]);
  }
}

// Lengths of num_segments non-empty segments splitting num_items (run_t5_mlm_flax's
// _random_segmentation): num_segments - 1 start flags among the num_items - 1 gaps, shuffled.
std::vector<int64_t> random_segmentation(int64_t num_items, int64_t num_segments, Draws& draws) {
  std::vector<uint8_t> starts(static_cast<size_t>(num_items - 1), 0);
  for (int64_t i = 0; i < num_segments - 1; ++i) starts[static_cast<size_t>(i)] = 1;
  shuffle_with(starts, draws);
  std::vector<int64_t> lengths(1, 1);
  for (uint8_t s : starts) {
    if (s) lengths.push_back(0);
    ++lengths.back();
  }
  return lengths;
}

}  // namespace

MaskedExample mlm_mask(const std::vector<int32_t>& ids, const MlmConfig& cfg, Draws& draws) {
  check_mlm_config(ids, cfg, "mlm_mask");
  const std::vector<uint8_t> special = special_flags(ids, cfg, "mlm_mask");
  std::vector<uint8_t> chosen(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const double u = draws.uniform();
    chosen[i] = !special[i] && u < cfg.probability;
  }
  return replace_chosen(ids, chosen, cfg, draws);
}

MaskedExample mlm_mask_whole_word(const std::vector<int32_t>& ids,
                                  const std::vector<uint8_t>& word_start, const MlmConfig& cfg,
                                  Draws& draws) {
  check_mlm_config(ids, cfg, "mlm_mask_whole_word");
  if (word_start.size() != ids.size())
    throw Error("mlm_mask_whole_word: word_start has " + std::to_string(word_start.size()) +
                " flags for " + std::to_string(ids.size()) + " tokens (expected one per token)");
  if (cfg.max_predictions <= 0) throw Error("mlm_mask_whole_word: max_predictions must be > 0");
  const std::vector<uint8_t> special = special_flags(ids, cfg, "mlm_mask_whole_word");
  std::vector<std::vector<size_t>> words;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (special[i]) continue;
    if (words.empty() || word_start[i]) words.emplace_back();
    words.back().push_back(i);
  }
  shuffle_with(words, draws);
  const double target = std::nearbyint(static_cast<double>(ids.size()) * cfg.probability);
  const size_t budget = static_cast<size_t>(
      std::min<double>(static_cast<double>(cfg.max_predictions), std::max(1.0, target)));
  std::vector<uint8_t> chosen(ids.size(), 0);
  size_t taken = 0;
  for (const auto& word : words) {
    if (taken >= budget) break;
    if (taken + word.size() > budget) continue;
    for (size_t i : word) chosen[i] = 1;
    taken += word.size();
  }
  return replace_chosen(ids, chosen, cfg, draws);
}

std::vector<int32_t> t5_sentinel_ids(int64_t vocab_size, int count) {
  if (count < 0 || vocab_size < count)
    throw Error("t5_sentinel_ids: " + std::to_string(count) + " sentinels do not fit in a " +
                std::to_string(vocab_size) + "-token vocabulary");
  std::vector<int32_t> ids(static_cast<size_t>(count));
  for (int k = 0; k < count; ++k)
    ids[static_cast<size_t>(k)] = static_cast<int32_t>(vocab_size - 1 - k);
  return ids;
}

std::vector<uint8_t> t5_noise_mask(int64_t n, double noise_density, double mean_span_length,
                                   Draws& draws) {
  if (n < 2)
    throw Error("t5_noise_mask: sequence of " + std::to_string(n) +
                " tokens (expected at least 2: one noise and one kept)");
  if (!(noise_density > 0 && noise_density < 1))
    throw Error("t5_noise_mask: noise_density must be in (0, 1)");
  if (!(mean_span_length >= 1)) throw Error("t5_noise_mask: mean_span_length must be >= 1");
  // As HF: the span count uses the non-noise count from before the noise count's clamp.
  int64_t noise = static_cast<int64_t>(std::nearbyint(static_cast<double>(n) * noise_density));
  const int64_t nonnoise_unclamped = n - noise;
  noise = std::min(std::max<int64_t>(noise, 1), n - 1);
  const double shorter = static_cast<double>(std::min(noise, nonnoise_unclamped));
  const int64_t spans =
      std::max<int64_t>(static_cast<int64_t>(std::nearbyint(shorter / mean_span_length)), 1);
  const int64_t nonnoise = n - noise;
  const std::vector<int64_t> noise_len = random_segmentation(noise, spans, draws);
  const std::vector<int64_t> keep_len = random_segmentation(nonnoise, spans, draws);
  std::vector<uint8_t> mask;
  mask.reserve(static_cast<size_t>(n));
  for (int64_t s = 0; s < spans; ++s) {
    mask.insert(mask.end(), static_cast<size_t>(keep_len[static_cast<size_t>(s)]), 0);
    mask.insert(mask.end(), static_cast<size_t>(noise_len[static_cast<size_t>(s)]), 1);
  }
  return mask;
}

SpanCorrupted t5_span_corrupt(const std::vector<int32_t>& ids, const SpanCorruptionConfig& cfg,
                              Draws& draws) {
  if (ids.empty()) throw Error("t5_span_corrupt: empty token sequence (expected at least 2)");
  if (cfg.eos_id < 0) throw Error("t5_span_corrupt: eos_id not set");
  if (cfg.sentinel_ids.empty())
    throw Error("t5_span_corrupt: no sentinel ids (add <extra_id_k> tokens to the tokenizer)");
  const std::vector<uint8_t> noise = t5_noise_mask(static_cast<int64_t>(ids.size()),
                                                   cfg.noise_density, cfg.mean_span_length, draws);
  SpanCorrupted out;
  size_t span = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const bool starts = noise[i] != (i > 0 ? noise[i - 1] : 0);
    if (noise[i] && starts) {
      if (span >= cfg.sentinel_ids.size())
        throw Error("t5_span_corrupt: " + std::to_string(span + 1) + " noise spans but only " +
                    std::to_string(cfg.sentinel_ids.size()) + " sentinel ids");
      out.input_ids.push_back(cfg.sentinel_ids[span]);
      out.labels.push_back(cfg.sentinel_ids[span]);
      ++span;
    }
    (noise[i] ? out.labels : out.input_ids).push_back(ids[i]);
  }
  out.input_ids.push_back(cfg.eos_id);
  out.labels.push_back(cfg.eos_id);
  return out;
}

}  // namespace loom::train
