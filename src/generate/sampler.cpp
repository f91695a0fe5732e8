#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/error.h"

namespace loom::generate {

int32_t argmax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
  return best;
}

void apply_penalties(std::span<float> logits, std::span<const int32_t> history,
                     const SamplerConfig& c) {
  if (c.repetition_penalty == 1.0f && c.frequency_penalty == 0.0f && c.presence_penalty == 0.0f) {
    return;
  }
  size_t start = 0;
  if (c.penalty_last_n > 0 && history.size() > static_cast<size_t>(c.penalty_last_n)) {
    start = history.size() - static_cast<size_t>(c.penalty_last_n);
  }
  std::unordered_map<int32_t, int> counts;
  for (size_t i = start; i < history.size(); ++i) {
    int32_t t = history[i];
    if (t >= 0 && static_cast<size_t>(t) < logits.size()) ++counts[t];
  }
  for (const auto& [t, n] : counts) {
    float& l = logits[static_cast<size_t>(t)];
    if (c.repetition_penalty != 1.0f)
      l = l > 0 ? l / c.repetition_penalty : l * c.repetition_penalty;
    l -= static_cast<float>(n) * c.frequency_penalty + c.presence_penalty;
  }
}

Sampler::Sampler(SamplerConfig config) : config_(config), rng_(config.seed) {}

// cand_ (logit, id), sorted by logit -> (softmax(logit / temperature), id); the max-subtracted
// exponentials are summed in double.
void Sampler::softmax_candidates() {
  const double mx = cand_[0].first;
  double sum = 0;
  for (auto& [v, id] : cand_) {
    v = static_cast<float>(std::exp((v - mx) / config_.temperature));
    sum += v;
  }
  for (auto& [v, id] : cand_) v = static_cast<float>(v / sum);
}

// Top-p over sorted probabilities: the smallest prefix whose probability reaches p (a token is
// kept when the tokens ranked above it sum to less than p, Hugging Face's TopPLogitsWarper).
void Sampler::keep_top_p() {
  double cum = 0;
  for (size_t i = 0; i < cand_.size(); ++i) {
    cum += cand_[i].first;
    if (cum >= config_.top_p) {
      cand_.resize(i + 1);
      return;
    }
  }
}

// Min-p: drop tokens whose probability is below min_p times the largest (the first).
void Sampler::keep_min_p() {
  const float floor = config_.min_p * cand_[0].first;
  size_t keep = 1;
  while (keep < cand_.size() && cand_[keep].first >= floor) ++keep;
  cand_.resize(keep);
}

// cand_ = the kept tokens with their probabilities before the final renormalisation.
void Sampler::filter(std::span<float> logits, std::span<const int32_t> history) {
  const auto& c = config_;
  LOOM_ASSERT(c.temperature > 0.0f && !logits.empty(), "a distribution needs temperature > 0");
  apply_penalties(logits, history, c);
  cand_.clear();
  for (size_t i = 0; i < logits.size(); ++i) cand_.emplace_back(logits[i], static_cast<int32_t>(i));
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (c.top_k > 0 && static_cast<size_t>(c.top_k) < cand_.size()) {
    std::partial_sort(cand_.begin(), cand_.begin() + c.top_k, cand_.end(), by_logit);
    cand_.resize(static_cast<size_t>(c.top_k));
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  softmax_candidates();
  if (c.top_p < 1.0f) keep_top_p();
  if (c.min_p > 0.0f) keep_min_p();
}

const std::vector<std::pair<float, int32_t>>& Sampler::distribution(
    std::span<float> logits, std::span<const int32_t> history) {
  filter(logits, history);
  double total = 0;
  for (const auto& [p, id] : cand_) total += p;
  for (auto& [p, id] : cand_) p = static_cast<float>(p / total);
  return cand_;
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  if (config_.temperature <= 0.0f) {
    apply_penalties(logits, history, config_);
    return argmax(logits);
  }
  filter(logits, history);
  double total = 0;
  for (const auto& [p, id] : cand_) total += p;
  const double r = rng_.uniform_double() * total;
  double cdf = 0;
  for (const auto& [p, id] : cand_) {
    cdf += p;
    if (r < cdf) return id;
  }
  return cand_.back().second;
}

int32_t Llama2cSampler::sample(std::span<float> logits) {
  const int n = static_cast<int>(logits.size());
  if (temperature_ == 0.0f) return argmax(logits);
  for (auto& l : logits) l /= temperature_;
  // run.c's softmax: max-subtracted expf, then divide by the sum (accumulated in float).
  float mx = logits[0];
  for (int i = 1; i < n; ++i) mx = std::max(mx, logits[static_cast<size_t>(i)]);
  float sum = 0;
  for (auto& l : logits) {
    l = std::exp(l - mx);
    sum += l;
  }
  for (auto& l : logits) l /= sum;
  const float coin = rng_.next_f32();
  if (topp_ <= 0.0f || topp_ >= 1.0f) {
    float cdf = 0;
    for (int i = 0; i < n; ++i) {
      cdf += logits[static_cast<size_t>(i)];
      if (coin < cdf) return i;
    }
    return n - 1;
  }
  const float cutoff = (1.0f - topp_) / static_cast<float>(n - 1);
  index_.clear();
  for (int i = 0; i < n; ++i)
    if (logits[static_cast<size_t>(i)] >= cutoff)
      index_.emplace_back(logits[static_cast<size_t>(i)], i);
  if (index_.empty()) return argmax(logits);
  std::stable_sort(index_.begin(), index_.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  float cum = 0;
  int last = static_cast<int>(index_.size()) - 1;
  for (int i = 0; i < static_cast<int>(index_.size()); ++i) {
    cum += index_[static_cast<size_t>(i)].first;
    if (cum > topp_) {
      last = i;
      break;
    }
  }
  const float r = coin * cum;
  float cdf = 0;
  for (int i = 0; i <= last; ++i) {
    cdf += index_[static_cast<size_t>(i)].first;
    if (r < cdf) return index_[static_cast<size_t>(i)].second;
  }
  return index_[static_cast<size_t>(last)].second;
}

}  // namespace loom::generate
