// Masked-LM pre-training with dynamic masking (see mlm_trainer.h).
#include "train/mlm_trainer.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>

#include "core/error.h"
#include "core/rng.h"

namespace loom::train {

MlmTrainer::MlmTrainer(models::CausalLm& model, const std::vector<MlmSequence>& seqs, MlmConfig mlm,
                       bool whole_word, TrainConfig cfg, ThreadPool& pool, Seq2seqNoise noise)
    : model_(model),
      seqs_(seqs),
      mlm_(std::move(mlm)),
      whole_word_(whole_word),
      noise_(std::move(noise)),
      cfg_(cfg),
      pool_(pool),
      opt_(model.params(), cfg.adamw),
      tape_(pool, cfg.compute) {
  check_train_config(cfg, model);
  const bool seq2seq = noise_.objective != Objective::Mlm;
  if (seq2seq != model.architecture().encoder_decoder() ||
      (!seq2seq && model.architecture().causal()))
    throw Error(
        std::string("pre-training: ") + model.architecture().name() + " is not " +
        (seq2seq ? "an encoder-decoder (t5, bart)" : "a bidirectional encoder (bert, roberta)"));
  if (!seq2seq && !model.config().has_mlm_head) throw Error("masked LM: the model has no MLM head");
  if (seqs.empty()) throw Error("masked LM: no training sequence");
  for (size_t k = 0; k < seqs.size(); ++k) {
    const MlmSequence& s = seqs[k];
    if (s.ids.empty() || static_cast<int64_t>(s.ids.size()) > cfg.seq)
      throw Error("masked LM: sequence " + std::to_string(k) + " has " +
                  std::to_string(s.ids.size()) + " tokens, expected 1.." + std::to_string(cfg.seq));
    if (whole_word && s.word_start.size() != s.ids.size())
      throw Error("masked LM: whole-word masking needs word starts for sequence " +
                  std::to_string(k));
  }
  order_ = seeded_order(seqs.size(), cfg.seed);
}

namespace {

void count_masking(const std::vector<int32_t>& ids, const MaskedExample& m, const MlmConfig& cfg,
                   const std::unordered_set<int32_t>& special, MlmStats& s) {
  for (size_t i = 0; i < ids.size(); ++i) {
    s.maskable += special.count(ids[i]) ? 0 : 1;
    if (m.labels[i] == kIgnoreLabel) continue;
    ++s.chosen;
    if (m.input_ids[i] == cfg.mask_id && ids[i] != cfg.mask_id)
      ++s.masked;
    else if (m.input_ids[i] != ids[i])
      ++s.randomised;
    else
      ++s.kept;
  }
}

}  // namespace

void MlmTrainer::corrupt(const std::vector<int32_t>& ids, Draws& draws, std::vector<int32_t>& input,
                         std::vector<int32_t>& target) const {
  if (noise_.objective == Objective::Span) {
    SpanCorrupted c = t5_span_corrupt(ids, noise_.span, draws);
    input = std::move(c.input_ids);
    target = std::move(c.labels);
  } else {
    std::vector<int32_t> p =
        noise_.full_stop_id >= 0
            ? bart_permute_sentences(ids, noise_.full_stop_id, noise_.permute_ratio, draws)
            : ids;
    std::vector<uint8_t> starts(p.size(), 0);
    for (size_t i = 1; i + 1 < p.size(); ++i)
      starts[i] = static_cast<size_t>(p[i]) < noise_.begins_word.size()
                      ? noise_.begins_word[static_cast<size_t>(p[i])]
                      : 1;
    input = bart_text_infill(p, starts, noise_.bart, draws);
    target = ids;
  }
  const auto cap = static_cast<size_t>(cfg_.seq);
  if (input.size() > cap) {
    input[cap - 1] = input.back();
    input.resize(cap);
  }
}

float MlmTrainer::run_seq2seq_batch(const std::vector<MlmSequence>& seqs,
                                    const std::vector<int64_t>& pick, Draws& draws, nn::Tape& t,
                                    float scale, bool backward, MlmStats* stats) {
  const auto b = static_cast<int64_t>(pick.size());
  std::vector<std::vector<int32_t>> in(pick.size()), out(pick.size());
  int64_t s_len = 1, t_len = 1;
  for (size_t k = 0; k < pick.size(); ++k) {
    corrupt(seqs[static_cast<size_t>(pick[k])].ids, draws, in[k], out[k]);
    s_len = std::max<int64_t>(s_len, static_cast<int64_t>(in[k].size()));
    t_len = std::max<int64_t>(t_len, static_cast<int64_t>(out[k].size()));
  }
  const int32_t pad = std::max<int32_t>(model_.config().pad_token_id, 0);
  ids_.assign(static_cast<size_t>(b * s_len), pad);
  mask_.assign(static_cast<size_t>(b * s_len), 0);
  dec_ids_.assign(static_cast<size_t>(b * t_len), pad);
  dec_mask_.assign(static_cast<size_t>(b * t_len), 0);
  labels_.assign(static_cast<size_t>(b * t_len), kIgnoreLabel);
  for (int64_t k = 0; k < b; ++k) {
    const auto& x = in[static_cast<size_t>(k)];
    const auto& y = out[static_cast<size_t>(k)];
    std::copy(x.begin(), x.end(), ids_.begin() + k * s_len);
    std::fill_n(mask_.begin() + k * s_len, x.size(), uint8_t{1});
    std::copy(y.begin(), y.end(), labels_.begin() + k * t_len);
    std::fill_n(dec_mask_.begin() + k * t_len, y.size(), uint8_t{1});
    dec_ids_[static_cast<size_t>(k * t_len)] = model_.config().decoder_start_token_id;
    std::copy(y.begin(), y.end() - 1, dec_ids_.begin() + k * t_len + 1);
    if (stats)
      stats->maskable +=
          static_cast<int64_t>(seqs[static_cast<size_t>(pick[static_cast<size_t>(k)])].ids.size());
    if (stats) stats->chosen += static_cast<int64_t>(y.size());
  }
  const models::TokenBatch batch{ids_.data(),     b,     s_len,           nullptr, mask_.data(),
                                 dec_ids_.data(), t_len, dec_mask_.data()};
  const nn::Var loss = model_.seq2seq_loss(t, batch, labels_.data());
  const float l = t.data(loss)[0];
  if (!std::isfinite(l)) throw Error("pre-training: loss is not finite; stopped before updating");
  if (backward) t.backward(loss, scale);
  return l;
}

float MlmTrainer::run_batch(const std::vector<MlmSequence>& seqs, const std::vector<int64_t>& pick,
                            Draws& draws, nn::Tape& t, float scale, bool backward,
                            MlmStats* stats) {
  if (noise_.objective != Objective::Mlm)
    return run_seq2seq_batch(seqs, pick, draws, t, scale, backward, stats);
  const int64_t b = static_cast<int64_t>(pick.size());
  int64_t seq = 1;
  for (int64_t k : pick)
    seq = std::max<int64_t>(seq, static_cast<int64_t>(seqs[static_cast<size_t>(k)].ids.size()));
  const int32_t pad = std::max<int32_t>(model_.config().pad_token_id, 0);
  ids_.assign(static_cast<size_t>(b * seq), pad);
  mask_.assign(static_cast<size_t>(b * seq), 0);
  rows_.clear();
  labels_.clear();
  const std::unordered_set<int32_t> special(mlm_.special_ids.begin(), mlm_.special_ids.end());
  for (int64_t k = 0; k < b; ++k) {
    const MlmSequence& s = seqs[static_cast<size_t>(pick[static_cast<size_t>(k)])];
    const MaskedExample m = whole_word_ ? mlm_mask_whole_word(s.ids, s.word_start, mlm_, draws)
                                        : mlm_mask(s.ids, mlm_, draws);
    if (stats) count_masking(s.ids, m, mlm_, special, *stats);
    std::copy(m.input_ids.begin(), m.input_ids.end(), ids_.begin() + k * seq);
    std::fill_n(mask_.begin() + k * seq, s.ids.size(), uint8_t{1});
    for (size_t i = 0; i < m.labels.size(); ++i)
      if (m.labels[i] != kIgnoreLabel) {
        rows_.push_back(static_cast<int32_t>(k * seq + static_cast<int64_t>(i)));
        labels_.push_back(m.labels[i]);
      }
  }
  if (rows_.empty()) return 0.0f;  // nothing chosen in the whole batch: no loss, no gradient
  const models::TokenBatch in{ids_.data(), b, seq, nullptr, mask_.data()};
  const auto n = static_cast<int64_t>(rows_.size());
  const nn::Var picked = nn::embedding(t, model_.hidden(t, in), rows_.data(), n);
  const nn::Var loss = nn::cross_entropy(t, model_.head(t, in, picked), labels_.data(), n);
  const float l = t.data(loss)[0];
  if (!std::isfinite(l)) throw Error("masked LM: loss is not finite; stopped before updating");
  if (backward) t.backward(loss, scale);
  return l;
}

StepStats MlmTrainer::step(MlmStats* stats) {
  const int64_t step = opt_.steps();
  MlmStats s;
  const StepStats st =
      example_step(model_.params(), opt_, cfg_, order_, pool_, step,
                   [&](const std::vector<int64_t>& pick, int64_t m, float scale) {
                     // A fresh mask per step and micro-batch, reproducible from the seed alone.
                     Rng rng(cfg_.seed * 0x9e3779b97f4a7c15ull +
                             static_cast<uint64_t>(step) * 1000003ull + static_cast<uint64_t>(m));
                     RngDraws draws(rng);
                     tape_.reset();
                     return run_batch(seqs_, pick, draws, tape_, scale, true, &s);
                   });
  s.loss = st.loss;
  if (stats) *stats = s;
  return st;
}

float MlmTrainer::evaluate(const std::vector<MlmSequence>& seqs, uint64_t seed) {
  Rng rng(seed);
  RngDraws draws(rng);
  double sum = 0;
  int64_t batches = 0;
  for_each_batch(seqs.size(), cfg_.batch, [&](const std::vector<int64_t>& pick) {
    nn::Tape t(pool_, cfg_.compute);
    t.set_grad_enabled(false);
    sum += run_batch(seqs, pick, draws, t, 1.0f, false, nullptr);
    ++batches;
  });
  return batches ? static_cast<float>(sum / static_cast<double>(batches)) : NAN;
}

}  // namespace loom::train
