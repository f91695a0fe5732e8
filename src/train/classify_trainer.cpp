// Sequence-classification training (see classify_trainer.h).
#include "train/classify_trainer.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "nn/seq_pool.h"
#include "train/objectives.h"

namespace loom::train {

ClassifyTrainer::ClassifyTrainer(models::CausalLm& model,
                                 const std::vector<ClassifyExample>& examples, TrainConfig cfg,
                                 ThreadPool& pool, std::optional<Pooling> pooling)
    : model_(model),
      examples_(examples),
      cfg_(cfg),
      pool_(pool),
      pooling_(pooling),
      opt_(model.params(), cfg.adamw),
      tape_(pool, cfg.compute) {
  check_train_config(cfg, model);
  if (!model.score_head()) throw Error("classification: the model has no classification head");
  if (examples.empty()) throw Error("classification: no training example");
  token_ = !examples.front().tags.empty();
  if (token_ && pooling) throw Error("token classification: a pooling does not apply");
  for (const ClassifyExample& e : examples) check_example(e, model.score_head()->shape[0]);
  order_ = seeded_order(examples.size(), cfg.seed);
}

void ClassifyTrainer::check_example(const ClassifyExample& e, int64_t labels) const {
  const std::string at = "classification: example of line " + std::to_string(e.line);
  if (e.ids.empty() || static_cast<int64_t>(e.ids.size()) > cfg_.seq)
    throw Error(at + " has " + std::to_string(e.ids.size()) + " tokens, expected 1.." +
                std::to_string(cfg_.seq));
  if (token_ != !e.tags.empty() || (token_ && e.tags.size() != e.ids.size()))
    throw Error(at + ": expected " + (token_ ? "one tag per token" : "no tags") +
                " like the first example");
  auto check_label = [&](int32_t label) {
    if (label < 0 || label >= labels)
      throw Error(at + ": label " + std::to_string(label) + " outside the head's " +
                  std::to_string(labels) + " labels");
  };
  if (!token_) check_label(e.label);
  for (int32_t t : e.tags)
    if (t != kIgnoreLabel) check_label(t);
  for (int32_t id : e.ids)
    if (id < 0 || id >= model_.config().vocab_size)
      throw Error(at + ": token id " + std::to_string(id) + " outside the model's vocabulary");
}

nn::Var ClassifyTrainer::logits(nn::Tape& t, const std::vector<ClassifyExample>& examples,
                                const std::vector<int64_t>& pick) {
  const int64_t b = static_cast<int64_t>(pick.size());
  int64_t seq = 1;
  for (int64_t k : pick)
    seq = std::max<int64_t>(seq, static_cast<int64_t>(examples[static_cast<size_t>(k)].ids.size()));
  const int32_t pad = std::max<int32_t>(model_.config().pad_token_id, 0);
  ids_.assign(static_cast<size_t>(b * seq), pad);
  mask_.assign(static_cast<size_t>(b * seq), 0);
  last_.resize(static_cast<size_t>(b));
  lens_.resize(static_cast<size_t>(b));
  labels_.assign(static_cast<size_t>(token_ ? b * seq : b), kIgnoreLabel);
  for (int64_t k = 0; k < b; ++k) {
    const ClassifyExample& e = examples[static_cast<size_t>(pick[static_cast<size_t>(k)])];
    std::copy(e.ids.begin(), e.ids.end(), ids_.begin() + k * seq);
    std::fill_n(mask_.begin() + k * seq, e.ids.size(), uint8_t{1});
    lens_[static_cast<size_t>(k)] = static_cast<int32_t>(e.ids.size());
    last_[static_cast<size_t>(k)] = lens_[static_cast<size_t>(k)] - 1;
    if (token_)
      std::copy(e.tags.begin(), e.tags.end(), labels_.begin() + k * seq);
    else
      labels_[static_cast<size_t>(k)] = e.label;
  }
  const bool encoder = !model_.architecture().causal();
  const models::TokenBatch in{ids_.data(), b, seq, nullptr, encoder ? mask_.data() : nullptr};
  if (!token_ && !pooling_) return model_.classify(t, in, last_.data());
  nn::Var h = model_.hidden(t, in);  // (B*T, C)
  if (pooling_) h = nn::pool_sequences(t, h, lens_.data(), b, seq, *pooling_);
  const nn::Var w = t.param(*model_.score_head());
  return model_.score_bias() ? nn::linear(t, h, w, t.param(*model_.score_bias()))
                             : nn::linear(t, h, w);
}

namespace {

// Adds the loss, the correct predictions and the count of rows (n, labels) with their labels
// into s (sums; rows labelled -100 skipped); the arg-max of each row into predicted when given.
void add_stats(ClassifyStats& s, const float* rows, const int32_t* labels, int64_t n,
               int64_t classes, std::vector<int32_t>* predicted) {
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] == kIgnoreLabel) continue;
    ++s.count;
    const float* r = rows + i * classes;
    const int64_t best = std::max_element(r, r + classes) - r;
    const float top = r[best];
    double z = 0;
    for (int64_t c = 0; c < classes; ++c) z += std::exp(static_cast<double>(r[c] - top));
    s.loss += static_cast<float>(std::log(z) + top - r[labels[i]]);
    s.accuracy += best == labels[i] ? 1.0f : 0.0f;
    if (predicted) predicted->push_back(static_cast<int32_t>(best));
  }
}

}  // namespace

float ClassifyTrainer::compute_gradients(const std::vector<ClassifyExample>& examples,
                                         const std::vector<int64_t>& pick, float scale,
                                         ClassifyStats* stats) {
  tape_.reset();
  const nn::Var out = logits(tape_, examples, pick);
  const auto rows = static_cast<int64_t>(labels_.size());
  const nn::Var loss = nn::cross_entropy(tape_, out, labels_.data(), rows);
  const float l = tape_.data(loss)[0];
  if (!std::isfinite(l)) throw Error("classification: loss is not finite; stopped before updating");
  if (stats)
    add_stats(*stats, tape_.data(out), labels_.data(), rows, model_.score_head()->shape[0],
              nullptr);
  tape_.backward(loss, scale);
  return l;
}

StepStats ClassifyTrainer::step(ClassifyStats* stats) {
  ClassifyStats s;
  const StepStats st = example_step(model_.params(), opt_, cfg_, order_, pool_, opt_.steps(),
                                    [&](const std::vector<int64_t>& pick, int64_t, float scale) {
                                      return compute_gradients(examples_, pick, scale, &s);
                                    });
  const auto n = static_cast<float>(std::max<int64_t>(s.count, 1));
  if (stats) *stats = {s.loss / n, s.accuracy / n, s.count};
  return st;
}

ClassifyStats ClassifyTrainer::evaluate(const std::vector<ClassifyExample>& examples,
                                        std::vector<int32_t>* predicted) {
  ClassifyStats s;
  if (predicted) predicted->clear();
  const int64_t classes = model_.score_head()->shape[0];
  for_each_batch(examples.size(), cfg_.batch, [&](const std::vector<int64_t>& pick) {
    nn::Tape t(pool_, cfg_.compute);  // forward only
    t.set_grad_enabled(false);
    const nn::Var out = logits(t, examples, pick);
    add_stats(s, t.data(out), labels_.data(), static_cast<int64_t>(labels_.size()), classes,
              predicted);
  });
  if (s.count > 0) {
    s.loss /= static_cast<float>(s.count);
    s.accuracy /= static_cast<float>(s.count);
  }
  return s;
}

}  // namespace loom::train
