// Bradley–Terry reward-model training (see reward_trainer.h).
#include "train/reward_trainer.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/rng.h"
#include "nn/preference.h"

namespace loom::train {

RewardTrainer::RewardTrainer(models::CausalLm& model, const std::vector<PreferenceExample>& pairs,
                             TrainConfig cfg, ThreadPool& pool)
    : model_(model),
      pairs_(pairs),
      cfg_(cfg),
      pool_(pool),
      opt_(model.params(), cfg.adamw),
      tape_(pool, cfg.compute) {
  check_train_config(cfg, model);
  if (!model.score_head() || model.score_head()->rows() != 1)
    throw Error("reward model: needs a scoring head with one label (score.weight (1, d_model))");
  if (pairs.empty()) throw Error("reward model: no preference pair");
  for (const auto& p : pairs)
    for (const SftExample* e : {&p.chosen, &p.rejected}) {
      if (static_cast<int64_t>(e->ids.size()) > cfg.seq)
        throw Error("reward model: pair of line " + std::to_string(p.line) + " has a sequence of " +
                    std::to_string(e->ids.size()) + " tokens, more than seq " +
                    std::to_string(cfg.seq));
      for (int32_t id : e->ids)
        if (id < 0 || id >= model.config().vocab_size)
          throw Error("reward model: pair of line " + std::to_string(p.line) + ": token id " +
                      std::to_string(id) + " outside the model's vocabulary");
    }
  for (int side = 0; side < 2; ++side) {
    ids_[side].resize(static_cast<size_t>(cfg.batch * cfg.seq));
    last_[side].resize(static_cast<size_t>(cfg.batch));
  }
  order_ = seeded_order(pairs.size(), cfg.seed);
}

std::pair<nn::Var, nn::Var> RewardTrainer::rewards(nn::Tape& t,
                                                   const std::vector<PreferenceExample>& pairs,
                                                   const std::vector<int64_t>& pick) {
  const int64_t b = static_cast<int64_t>(pick.size());
  nn::Var out[2];
  for (int side = 0; side < 2; ++side) {
    int32_t* ids = ids_[side].data();
    for (int64_t k = 0; k < b; ++k) {
      const PreferenceExample& p = pairs[static_cast<size_t>(pick[k])];
      const std::vector<int32_t>& e = side == 0 ? p.chosen.ids : p.rejected.ids;
      std::fill(ids + k * cfg_.seq, ids + (k + 1) * cfg_.seq, 0);  // right padding
      std::copy(e.begin(), e.end(), ids + k * cfg_.seq);
      last_[side][k] = static_cast<int32_t>(e.size()) - 1;
    }
    out[side] = model_.score(t, ids, b, cfg_.seq, last_[side].data());
  }
  return {out[0], out[1]};
}

namespace {

void add_stats(RewardStats& s, const float* rc, const float* rr, int64_t n) {
  for (int64_t k = 0; k < n; ++k) {
    const float m = rc[k] - rr[k];
    s.margin += m;
    s.accuracy += m > 0 ? 1.0f : 0.0f;
    s.loss += std::max(-m, 0.0f) + std::log1p(std::exp(-std::fabs(m)));  // -log σ(m)
  }
}

void divide(RewardStats& s, float n) {
  for (float* x : {&s.loss, &s.accuracy, &s.margin}) *x /= n;
}

}  // namespace

float RewardTrainer::compute_gradients(const std::vector<PreferenceExample>& pairs,
                                       const std::vector<int64_t>& pick, float scale,
                                       RewardStats* stats) {
  tape_.reset();
  auto [rc, rr] = rewards(tape_, pairs, pick);
  nn::Var loss = nn::bradley_terry_loss(tape_, rc, rr);
  const float l = tape_.data(loss)[0];
  if (!std::isfinite(l)) throw Error("reward model: loss is not finite; stopped before updating");
  if (stats) add_stats(*stats, tape_.data(rc), tape_.data(rr), static_cast<int64_t>(pick.size()));
  tape_.backward(loss, scale);
  return l;
}

StepStats RewardTrainer::step(RewardStats* stats) {
  RewardStats s;
  const StepStats st = example_step(model_.params(), opt_, cfg_, order_, pool_, opt_.steps(),
                                    [&](const std::vector<int64_t>& pick, int64_t, float scale) {
                                      return compute_gradients(pairs_, pick, scale, &s);
                                    });
  divide(s, static_cast<float>(cfg_.batch * cfg_.grad_accum));
  if (stats) *stats = s;
  return st;
}

RewardStats RewardTrainer::evaluate(const std::vector<PreferenceExample>& pairs) {
  RewardStats s;
  for_each_batch(pairs.size(), cfg_.batch, [&](const std::vector<int64_t>& pick) {
    nn::Tape t(pool_, cfg_.compute);  // forward only
    auto [rc, rr] = rewards(t, pairs, pick);
    add_stats(s, t.data(rc), t.data(rr), static_cast<int64_t>(pick.size()));
  });
  if (!pairs.empty()) divide(s, static_cast<float>(pairs.size()));
  return s;
}

}  // namespace loom::train
