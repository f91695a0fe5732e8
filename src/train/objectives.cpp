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

void check_bart(const std::vector<int32_t>& ids, const BartNoiseConfig& cfg, const char* what) {
  const std::string w = what;
  if (ids.size() < 3)
    throw Error(w + ": sequence of " + std::to_string(ids.size()) +
                " tokens (expected <s>, at least one token, </s>)");
  if (cfg.vocab_size < 2) throw Error(w + ": vocab_size must be >= 2");
  if (cfg.mask_id < 0 || cfg.mask_id >= cfg.vocab_size)
    throw Error(w + ": mask_id " + std::to_string(cfg.mask_id) + " outside the vocabulary [0, " +
                std::to_string(cfg.vocab_size) + ")");
  if (!(cfg.random_ratio >= 0 && cfg.random_ratio <= 1))
    throw Error(w + ": random_ratio must be in [0, 1]");
}

// fairseq's truncated Poisson as a CDF over k = 0, 1, ...: p_k = e^-l l^k / k!, stopping after
// the first p_k < 1e-7 (or k = 127), normalised (torch's Categorical). Double throughout.
std::vector<double> poisson_cdf(double lambda) {
  std::vector<double> ps;
  double lk = 1, kf = 1;
  const double e = std::exp(-lambda);
  for (int k = 0; k < 128; ++k) {
    ps.push_back(e * lk / kf);
    lk *= lambda;
    kf *= k + 1;
    if (ps.back() < 1e-7) break;
  }
  double total = 0;
  for (double p : ps) total += p;
  std::vector<double> cdf(ps.size());
  double run = 0;
  for (size_t k = 0; k < ps.size(); ++k) cdf[k] = (run += ps[k]) / total;
  return cdf;
}

// Span lengths summing to budget: batches of `budget` Poisson draws until they reach it, then
// the span that crosses it cut to fit and the rest dropped (zero lengths kept).
std::vector<int64_t> infill_span_lengths(int64_t budget, double lambda, Draws& draws) {
  const std::vector<double> cdf = poisson_cdf(lambda);
  std::vector<int64_t> lengths;
  int64_t sum = 0;
  do {
    for (int64_t j = 0; j < budget; ++j) {
      const double u = draws.uniform();
      size_t k = 0;
      while (k + 1 < cdf.size() && !(u < cdf[k])) ++k;
      lengths.push_back(static_cast<int64_t>(k));
      sum += static_cast<int64_t>(k);
    }
  } while (sum < budget);
  int64_t before = 0;
  size_t i = 0;
  while (before + lengths[i] < budget) before += lengths[i++];
  lengths[i] = budget - before;
  lengths.resize(i + 1);
  return lengths;
}

int32_t random_bart_token(const BartNoiseConfig& cfg, Draws& draws) {
  return static_cast<int32_t>(1 + draws.below(static_cast<uint64_t>(cfg.vocab_size - 1)));
}

// Starts spans.size() spans at randomly chosen word starts: the start becomes <mask> (or a
// random token), the span's following tokens (spans[j] words, continuation pieces included)
// are deleted. is_start has 0 at <s> and </s>.
std::vector<int32_t> mask_spans(const std::vector<int32_t>& ids, std::vector<int64_t> is_start,
                                std::vector<int64_t> lengths, const BartNoiseConfig& cfg,
                                Draws& draws) {
  std::vector<int64_t> starts;
  for (size_t i = 0; i < is_start.size(); ++i)
    if (is_start[i]) starts.push_back(static_cast<int64_t>(i));
  const std::vector<int64_t> perm = random_permutation(static_cast<int64_t>(starts.size()), draws);
  const size_t k = lengths.size();
  std::vector<int64_t> idx(k);
  std::vector<uint8_t> is_random(k);
  for (size_t j = 0; j < k; ++j) idx[j] = starts[static_cast<size_t>(perm[j])];
  for (size_t j = 0; j < k; ++j) is_random[j] = draws.uniform() < cfg.random_ratio;
  std::vector<int32_t> source = ids;
  for (size_t j = 0; j < k; ++j) source[static_cast<size_t>(idx[j])] = cfg.mask_id;
  for (size_t j = 0; j < k; ++j)
    if (is_random[j]) source[static_cast<size_t>(idx[j])] = random_bart_token(cfg, draws);
  std::vector<uint8_t> keep(ids.size(), 1);
  is_start.back() = 255;  // </s> ends every span
  for (auto& l : lengths) --l;
  while (!idx.empty()) {
    std::vector<int64_t> next_idx, next_len;
    for (size_t j = 0; j < idx.size(); ++j) {
      const int64_t l = lengths[j] - is_start[static_cast<size_t>(idx[j] + 1)];
      if (l < 0) continue;
      next_idx.push_back(idx[j] + 1);
      next_len.push_back(l);
      keep[static_cast<size_t>(idx[j] + 1)] = 0;
    }
    idx.swap(next_idx);
    lengths.swap(next_len);
  }
  std::vector<int32_t> out;
  for (size_t i = 0; i < source.size(); ++i)
    if (keep[i]) out.push_back(source[i]);
  return out;
}

}  // namespace

std::vector<int64_t> random_permutation(int64_t n, Draws& draws) {
  std::vector<int64_t> perm(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
  shuffle_with(perm, draws);
  return perm;
}

std::vector<int32_t> bart_insert_noise(const std::vector<int32_t>& ids, double p,
                                       const BartNoiseConfig& cfg, Draws& draws) {
  check_bart(ids, cfg, "bart_insert_noise");
  if (!(p >= 0)) throw Error("bart_insert_noise: insertion ratio must be >= 0");
  if (p == 0.0) return ids;
  const int64_t n = static_cast<int64_t>(ids.size());
  const int64_t m = static_cast<int64_t>(std::ceil(static_cast<double>(n) * p));
  const std::vector<int64_t> perm = random_permutation(n + m - 2, draws);
  const int64_t num_random =
      static_cast<int64_t>(std::ceil(static_cast<double>(m) * cfg.random_ratio));
  std::vector<int32_t> out(static_cast<size_t>(n + m), -1);
  std::vector<uint8_t> noise(out.size(), 0);
  for (int64_t j = 0; j < m; ++j) noise[static_cast<size_t>(perm[static_cast<size_t>(j)] + 1)] = 1;
  for (int64_t j = num_random; j < m; ++j)
    out[static_cast<size_t>(perm[static_cast<size_t>(j)] + 1)] = cfg.mask_id;
  for (int64_t j = 0; j < num_random; ++j)
    out[static_cast<size_t>(perm[static_cast<size_t>(j)] + 1)] = random_bart_token(cfg, draws);
  size_t t = 0;
  for (size_t i = 0; i < out.size(); ++i)
    if (!noise[i]) out[i] = ids[t++];
  return out;
}

std::vector<int32_t> bart_text_infill(const std::vector<int32_t>& ids,
                                      const std::vector<uint8_t>& word_start,
                                      const BartNoiseConfig& cfg, Draws& draws) {
  check_bart(ids, cfg, "bart_text_infill");
  if (word_start.size() != ids.size())
    throw Error("bart_text_infill: word_start has " + std::to_string(word_start.size()) +
                " flags for " + std::to_string(ids.size()) + " tokens (expected one per token)");
  if (!(cfg.mask_ratio >= 0 && cfg.mask_ratio <= 1))
    throw Error("bart_text_infill: mask_ratio must be in [0, 1]");
  std::vector<int64_t> is_start(ids.size());
  int64_t num_starts = 0;
  for (size_t i = 1; i + 1 < ids.size(); ++i) num_starts += is_start[i] = word_start[i] ? 1 : 0;
  const int64_t budget =
      static_cast<int64_t>(std::ceil(static_cast<double>(num_starts) * cfg.mask_ratio));
  if (budget == 0) return ids;
  const std::vector<int64_t> lengths = infill_span_lengths(budget, cfg.poisson_lambda, draws);
  std::vector<int64_t> spans;
  for (int64_t l : lengths)
    if (l > 0) spans.push_back(l);
  const int64_t inserts = static_cast<int64_t>(lengths.size() - spans.size());
  if (spans.empty())
    return bart_insert_noise(ids, static_cast<double>(inserts) / static_cast<double>(ids.size()),
                             cfg, draws);
  std::vector<int32_t> source = mask_spans(ids, std::move(is_start), std::move(spans), cfg, draws);
  if (inserts == 0) return source;
  return bart_insert_noise(
      source, static_cast<double>(inserts) / static_cast<double>(source.size()), cfg, draws);
}

std::vector<int32_t> bart_permute_sentences(const std::vector<int32_t>& ids, int32_t full_stop_id,
                                            double ratio, Draws& draws) {
  if (ids.size() < 3)
    throw Error("bart_permute_sentences: sequence of " + std::to_string(ids.size()) +
                " tokens (expected <s>, at least one token, </s>)");
  if (!(ratio >= 0 && ratio <= 1)) throw Error("bart_permute_sentences: ratio must be in [0, 1]");
  const size_t n = ids.size();
  std::vector<uint8_t> stop(n);
  for (size_t i = 0; i < n; ++i) stop[i] = ids[i] == full_stop_id;
  stop[n - 2] = 1;           // the text before </s> ends a sentence
  std::vector<size_t> ends;  // one past each sentence's first full stop
  for (size_t i = 0; i + 1 < n; ++i)
    if (stop[i + 1] && !stop[i]) ends.push_back(i + 2);
  const int64_t s = static_cast<int64_t>(ends.size());
  const int64_t k = static_cast<int64_t>(std::ceil(static_cast<double>(s) * 2 * ratio / 2.0));
  const std::vector<int64_t> subs = random_permutation(s, draws);
  const std::vector<int64_t> perm = random_permutation(k, draws);
  std::vector<int64_t> order(static_cast<size_t>(s));
  for (int64_t i = 0; i < s; ++i) order[static_cast<size_t>(i)] = i;
  for (int64_t j = 0; j < k; ++j)
    order[static_cast<size_t>(subs[static_cast<size_t>(j)])] =
        subs[static_cast<size_t>(perm[static_cast<size_t>(j)])];
  std::vector<int32_t> out = ids;
  size_t at = 1;
  for (int64_t i : order) {
    const size_t begin = i > 0 ? ends[static_cast<size_t>(i - 1)] : 1;
    for (size_t t = begin; t < ends[static_cast<size_t>(i)]; ++t) out[at++] = ids[t];
  }
  return out;
}

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
