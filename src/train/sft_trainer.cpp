// Supervised fine-tuning with masked labels (see sft_trainer.h).
#include "train/sft_trainer.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/rng.h"

namespace loom::train {

void sft_batch(const std::vector<SftExample>& data, const std::vector<int64_t>& pick, int64_t seq,
               int32_t pad_id, int32_t* ids, int32_t* targets) {
  for (size_t k = 0; k < pick.size(); ++k) {
    const SftExample& e = data[static_cast<size_t>(pick[k])];
    LOOM_ASSERT(static_cast<int64_t>(e.ids.size()) <= seq, "sft_batch: example longer than seq");
    const std::vector<int32_t> t = shift_labels(e.labels);
    int32_t* row_ids = ids + k * seq;
    int32_t* row_t = targets + k * seq;
    std::fill(row_ids, row_ids + seq, pad_id);
    std::fill(row_t, row_t + seq, kIgnoreLabel);
    std::copy(e.ids.begin(), e.ids.end(), row_ids);
    std::copy(t.begin(), t.end(), row_t);
  }
}

SftTrainer::SftTrainer(models::CausalLm& model, const std::vector<SftExample>& data,
                       TrainConfig cfg, ThreadPool& pool)
    : model_(model),
      data_(data),
      cfg_(cfg),
      pool_(pool),
      opt_(model.params(), cfg.adamw),
      tape_(pool, cfg.compute),
      ids_(static_cast<size_t>(cfg.batch * cfg.seq)),
      targets_(static_cast<size_t>(cfg.batch * cfg.seq)) {
  check_train_config(cfg, model);
  if (data.empty()) throw Error("sft: no training example");
  for (const SftExample& e : data) {
    if (static_cast<int64_t>(e.ids.size()) > cfg.seq)
      throw Error("sft: example of line " + std::to_string(e.line) + " has " +
                  std::to_string(e.ids.size()) + " tokens, more than seq " +
                  std::to_string(cfg.seq) + " (read the data with max_len = seq)");
    for (int32_t id : e.ids)
      if (id < 0 || id >= model.config().vocab_size)
        throw Error("sft: example of line " + std::to_string(e.line) + ": token id " +
                    std::to_string(id) + " outside the model's vocabulary");
  }
  order_ = seeded_order(data.size(), cfg.seed);
}

StepStats SftTrainer::step() {
  const int64_t step = opt_.steps();
  model_.params().zero_grad();
  double loss_sum = 0;
  std::vector<int64_t> pick(static_cast<size_t>(cfg_.batch));
  for (int64_t m = 0; m < cfg_.grad_accum; ++m) {
    micro_batch_pick(order_, cfg_, step, m, pick);
    sft_batch(data_, pick, cfg_.seq, 0, ids_.data(), targets_.data());
    tape_.reset();
    nn::Var loss = model_.loss(tape_, ids_.data(), targets_.data(), cfg_.batch, cfg_.seq);
    const float l = tape_.data(loss)[0];
    if (!std::isfinite(l))
      throw Error("sft: loss is not finite at step " + std::to_string(step + 1) +
                  "; stopped before updating");
    loss_sum += l;
    tape_.backward(loss, 1.0f / static_cast<float>(cfg_.grad_accum));
  }
  return finish_step(model_.params(), opt_, cfg_.schedule, cfg_.clip, pool_, step,
                     static_cast<float>(loss_sum / static_cast<double>(cfg_.grad_accum)));
}

float SftTrainer::evaluate(const std::vector<SftExample>& data) {
  double sum = 0;
  int64_t count = 0;
  for (size_t begin = 0; begin < data.size(); begin += static_cast<size_t>(cfg_.batch)) {
    std::vector<int64_t> pick;
    for (size_t k = begin; k < std::min(data.size(), begin + cfg_.batch); ++k) pick.push_back(k);
    const int64_t b = static_cast<int64_t>(pick.size());
    sft_batch(data, pick, cfg_.seq, 0, ids_.data(), targets_.data());
    int64_t trained = 0;
    for (int64_t i = 0; i < b * cfg_.seq; ++i) trained += targets_[i] != kIgnoreLabel;
    nn::Tape t(pool_, cfg_.compute);  // forward only: no backward is run
    nn::Var loss = model_.loss(t, ids_.data(), targets_.data(), b, cfg_.seq);
    sum += static_cast<double>(t.data(loss)[0]) * trained;  // back to a sum over tokens
    count += trained;
  }
  return count > 0 ? static_cast<float>(sum / count) : NAN;
}

}  // namespace loom::train
