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

std::vector<std::vector<int64_t>> pack_rows(const std::vector<SftExample>& data,
                                            const std::vector<int64_t>& order, int64_t seq) {
  std::vector<std::vector<int64_t>> rows;
  int64_t used = seq;  // tokens in the last row; seq: none open yet
  for (int64_t e : order) {
    const int64_t n = static_cast<int64_t>(data[static_cast<size_t>(e)].ids.size());
    LOOM_ASSERT(n <= seq, "pack_rows: example longer than seq");
    if (used + n > seq) {
      rows.emplace_back();
      used = 0;
    }
    rows.back().push_back(e);
    used += n;
  }
  return rows;
}

void sft_packed_batch(const std::vector<SftExample>& data,
                      const std::vector<std::vector<int64_t>>& rows,
                      const std::vector<int64_t>& pick, int64_t seq, int32_t pad_id, int32_t* ids,
                      int32_t* targets, int32_t* segments) {
  for (size_t k = 0; k < pick.size(); ++k) {
    int32_t* row_ids = ids + k * seq;
    int32_t* row_t = targets + k * seq;
    int32_t* row_s = segments + k * seq;
    std::fill(row_ids, row_ids + seq, pad_id);
    std::fill(row_t, row_t + seq, kIgnoreLabel);
    std::fill(row_s, row_s + seq, -1);
    int64_t at = 0;
    int32_t segment = 0;
    for (int64_t index : rows[static_cast<size_t>(pick[k])]) {
      const SftExample& e = data[static_cast<size_t>(index)];
      const int64_t n = static_cast<int64_t>(e.ids.size());
      LOOM_ASSERT(at + n <= seq, "sft_packed_batch: a row longer than seq");
      const std::vector<int32_t> t = shift_labels(e.labels);
      std::copy(e.ids.begin(), e.ids.end(), row_ids + at);
      std::copy(t.begin(), t.end(), row_t + at);
      std::fill(row_s + at, row_s + at + n, segment++);
      at += n;
    }
  }
}

nn::Var sft_loss(models::CausalLm& model, nn::Tape& t, const models::TokenBatch& in,
                 const int32_t* targets) {
  if (in.segments == nullptr) return model.loss(t, in.ids, targets, in.batch, in.seq);
  const models::Architecture& arch = model.architecture();
  if (!arch.causal() || arch.encoder_decoder())
    throw Error(std::string("sft: packing needs a decoder-only model, not ") + arch.name());
  const nn::Var logits = model.head(t, in, model.hidden(t, in));
  return nn::cross_entropy(t, logits, targets, in.batch * in.seq);
}

SftTrainer::SftTrainer(models::CausalLm& model, const std::vector<SftExample>& data,
                       TrainConfig cfg, ThreadPool& pool, bool pack)
    : model_(model),
      data_(data),
      cfg_(cfg),
      pool_(pool),
      opt_(model.params(), cfg.adamw),
      tape_(pool, cfg.compute),
      pack_(pack),
      ids_(static_cast<size_t>(cfg.batch * cfg.seq)),
      targets_(static_cast<size_t>(cfg.batch * cfg.seq)),
      segments_(pack ? static_cast<size_t>(cfg.batch * cfg.seq) : 0) {
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
  if (!pack_) return;
  rows_ = pack_rows(data, order_, cfg.seq);
  order_.resize(rows_.size());
  std::iota(order_.begin(), order_.end(), 0);
}

int64_t SftTrainer::sequences() const {
  return static_cast<int64_t>(pack_ ? rows_.size() : data_.size());
}

// Micro-batch `pick` into ids_/targets_ (and segments_ when packing); returns its real tokens.
int64_t SftTrainer::fill_batch(const std::vector<int64_t>& pick) {
  int64_t tokens = 0;
  if (pack_) {
    sft_packed_batch(data_, rows_, pick, cfg_.seq, 0, ids_.data(), targets_.data(),
                     segments_.data());
    for (int64_t r : pick)
      for (int64_t e : rows_[static_cast<size_t>(r)])
        tokens += static_cast<int64_t>(data_[static_cast<size_t>(e)].ids.size());
  } else {
    sft_batch(data_, pick, cfg_.seq, 0, ids_.data(), targets_.data());
    for (int64_t e : pick) tokens += static_cast<int64_t>(data_[static_cast<size_t>(e)].ids.size());
  }
  return tokens;
}

StepStats SftTrainer::step() {
  const int64_t step = opt_.steps();
  model_.params().zero_grad();
  double loss_sum = 0;
  last_tokens_ = 0;
  std::vector<int64_t> pick(static_cast<size_t>(cfg_.batch));
  for (int64_t m = 0; m < cfg_.grad_accum; ++m) {
    micro_batch_pick(order_, cfg_, step, m, pick);
    last_tokens_ += fill_batch(pick);
    tape_.reset();
    const models::TokenBatch in{.ids = ids_.data(),
                                .batch = cfg_.batch,
                                .seq = cfg_.seq,
                                .segments = pack_ ? segments_.data() : nullptr};
    nn::Var loss = sft_loss(model_, tape_, in, targets_.data());
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
