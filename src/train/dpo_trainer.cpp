// DPO against cached reference log-probabilities (see dpo_trainer.h).
#include "train/dpo_trainer.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/rng.h"
#include "train/sft_trainer.h"

namespace loom::train {

DpoTrainer::DpoTrainer(models::CausalLm& policy, const std::vector<PreferenceExample>& pairs,
                       const RefLogprobs& ref, nn::DpoOptions dpo, TrainConfig cfg,
                       ThreadPool& pool)
    : model_(policy),
      pairs_(pairs),
      ref_(ref),
      dpo_(dpo),
      cfg_(cfg),
      pool_(pool),
      opt_(policy.params(), cfg.adamw),
      tape_(pool, cfg.compute) {
  check_train_config(cfg, policy);
  for (int side = 0; side < 2; ++side) {
    ids_[side].resize(static_cast<size_t>(cfg.batch * cfg.seq));
    targets_[side].resize(ids_[side].size());
  }
  if (pairs.empty()) throw Error("dpo: no preference pair");
  if (ref.chosen.size() != pairs.size() || ref.rejected.size() != pairs.size())
    throw Error("dpo: " + std::to_string(ref.chosen.size()) + " reference log-probs for " +
                std::to_string(pairs.size()) + " pairs");
  for (const auto& p : pairs)
    for (const SftExample* e : {&p.chosen, &p.rejected})
      if (static_cast<int64_t>(e->ids.size()) > cfg.seq)
        throw Error("dpo: pair of line " + std::to_string(p.line) + " has a sequence of " +
                    std::to_string(e->ids.size()) + " tokens, more than seq " +
                    std::to_string(cfg.seq));
  order_ = seeded_order(pairs.size(), cfg.seed);
}

namespace {

nn::Var constant_of(nn::Tape& t, const std::vector<float>& all, const std::vector<int64_t>& pick);

// One pair's loss (nn/preference.h) from its reward margin m = β·Δ.
float pair_loss(float m, const nn::DpoOptions& o) {
  if (o.ipo) {
    const float d = m / o.beta - 1.0f / (2.0f * o.beta);
    return d * d;
  }
  // -log σ(x) = softplus(-x), written to stay finite for large |x|.
  auto nls = [](float x) { return std::max(-x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); };
  return (1.0f - o.label_smoothing) * nls(m) + o.label_smoothing * nls(-m);
}

}  // namespace

std::pair<nn::Var, nn::Var> DpoTrainer::policy_logprobs(nn::Tape& t,
                                                        const std::vector<PreferenceExample>& pairs,
                                                        const std::vector<int64_t>& pick) {
  const int64_t b = static_cast<int64_t>(pick.size());
  nn::Var out[2];
  for (int side = 0; side < 2; ++side) {
    side_.clear();
    for (int64_t k : pick) side_.push_back(side == 0 ? pairs[k].chosen : pairs[k].rejected);
    std::vector<int64_t> all(side_.size());
    std::iota(all.begin(), all.end(), 0);
    int32_t *ids = ids_[side].data(), *targets = targets_[side].data();
    sft_batch(side_, all, cfg_.seq, 0, ids, targets);
    out[side] = nn::sequence_logprobs(t, model_.logits(t, ids, b, cfg_.seq), targets, b, cfg_.seq);
  }
  return {out[0], out[1]};
}

void DpoTrainer::add_metrics(DpoStepStats& s, const float* pc, const float* pr,
                             const RefLogprobs& ref, const std::vector<int64_t>& pick) const {
  for (size_t k = 0; k < pick.size(); ++k) {
    const float rc = dpo_.beta * (pc[k] - ref.chosen[pick[k]]);
    const float rr = dpo_.beta * (pr[k] - ref.rejected[pick[k]]);
    s.chosen_reward += rc;
    s.rejected_reward += rr;
    s.margin += rc - rr;
    s.accuracy += rc > rr ? 1.0f : 0.0f;
    s.loss += pair_loss(rc - rr, dpo_);
  }
}

namespace {

// The picked values as a (B, 1) tape constant (arena memory, valid until the tape's reset).
nn::Var constant_of(nn::Tape& t, const std::vector<float>& all, const std::vector<int64_t>& pick) {
  float* v = t.save<float>(static_cast<int64_t>(pick.size()));
  for (size_t k = 0; k < pick.size(); ++k) v[k] = all[pick[k]];
  return t.constant(TensorView(v, DType::F32, Shape({static_cast<int64_t>(pick.size()), 1})));
}

}  // namespace

DpoStepStats DpoTrainer::step() {
  const int64_t step = opt_.steps();
  model_.params().zero_grad();
  DpoStepStats s;
  double loss_sum = 0;
  std::vector<int64_t> pick(static_cast<size_t>(cfg_.batch));
  for (int64_t m = 0; m < cfg_.grad_accum; ++m) {
    micro_batch_pick(order_, cfg_, step, m, pick);
    tape_.reset();
    auto [pc, pr] = policy_logprobs(tape_, pairs_, pick);
    nn::Var loss = nn::dpo_loss(tape_, pc, pr, constant_of(tape_, ref_.chosen, pick),
                                constant_of(tape_, ref_.rejected, pick), dpo_);
    const float l = tape_.data(loss)[0];
    if (!std::isfinite(l))
      throw Error("dpo: loss is not finite at step " + std::to_string(step + 1) +
                  "; stopped before updating");
    add_metrics(s, tape_.data(pc), tape_.data(pr), ref_, pick);
    loss_sum += l;
    tape_.backward(loss, 1.0f / static_cast<float>(cfg_.grad_accum));
  }
  const float pairs_seen = static_cast<float>(cfg_.batch * cfg_.grad_accum);
  for (float* x : {&s.chosen_reward, &s.rejected_reward, &s.margin, &s.accuracy, &s.loss})
    *x /= pairs_seen;
  s.step = finish_step(model_.params(), opt_, cfg_.schedule, cfg_.clip, pool_, step,
                       static_cast<float>(loss_sum / static_cast<double>(cfg_.grad_accum)));
  return s;
}

DpoStepStats DpoTrainer::evaluate(const std::vector<PreferenceExample>& pairs,
                                  const RefLogprobs& ref) {
  DpoStepStats s;
  for (size_t begin = 0; begin < pairs.size(); begin += static_cast<size_t>(cfg_.batch)) {
    std::vector<int64_t> pick;
    for (size_t k = begin; k < std::min(pairs.size(), begin + cfg_.batch); ++k) pick.push_back(k);
    nn::Tape t(pool_, cfg_.compute);  // forward only
    auto [pc, pr] = policy_logprobs(t, pairs, pick);
    add_metrics(s, t.data(pc), t.data(pr), ref, pick);
  }
  for (float* x : {&s.chosen_reward, &s.rejected_reward, &s.margin, &s.accuracy, &s.loss})
    *x /= static_cast<float>(pairs.size());
  return s;
}

}  // namespace loom::train
