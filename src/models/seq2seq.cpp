#include "models/seq2seq.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/kernels.h"
#include "core/rng.h"
#include "nn/additive_attention.h"
#include "nn/ops.h"
#include "nn/recurrent.h"

namespace loom::models {

namespace {

RecurrentConfig encoder_config(const Seq2SeqConfig& c) {
  RecurrentConfig r;
  r.kind = c.kind;
  r.input_size = c.emb_size;
  r.hidden_size = c.hidden_size;
  r.num_layers = c.encoder_layers;
  r.bidirectional = c.bidirectional;
  r.batch_first = true;
  return r;
}

RecurrentConfig decoder_config(const Seq2SeqConfig& c) {
  RecurrentConfig r = encoder_config(c);
  r.input_size = c.emb_size + (c.bidirectional ? 2 : 1) * c.hidden_size;  // [embedding | context]
  r.num_layers = 1;
  r.bidirectional = false;
  return r;
}

}  // namespace

void validate(const Seq2SeqConfig& c) {
  if (c.src_vocab < 1 || c.tgt_vocab < 2)
    throw Error("seq2seq config: src_vocab " + std::to_string(c.src_vocab) + ", tgt_vocab " +
                std::to_string(c.tgt_vocab) + ", expected >= 1 and >= 2");
  if (c.kind == nn::CellKind::Lstm)
    throw Error("seq2seq config: cell lstm, expected gru, rnn_tanh or rnn_relu (one state)");
  validate(encoder_config(c));
}

Seq2Seq::Seq2Seq(const Seq2SeqConfig& cfg)
    : cfg_((validate(cfg), cfg)),
      encoder_(encoder_config(cfg_), params_, "encoder.rnn."),
      decoder_(decoder_config(cfg_), params_, "decoder.rnn.") {
  const int64_t E = cfg_.emb_size, H = cfg_.hidden_size, DH = encoder_.config().output_size();
  params_.add("encoder.embedding.weight", Shape{cfg_.src_vocab, E});
  if (cfg_.bidirectional) {
    params_.add("encoder.fc.weight", Shape{H, DH});
    params_.add("encoder.fc.bias", Shape{H}).decay = false;
  }
  params_.add("decoder.embedding.weight", Shape{cfg_.tgt_vocab, E});
  for (const char* m : {"Wa", "Ua"}) {
    params_.add(std::string("decoder.attention.") + m + ".weight", Shape{H, m[0] == 'U' ? DH : H});
    params_.add(std::string("decoder.attention.") + m + ".bias", Shape{H}).decay = false;
  }
  params_.add("decoder.attention.Va.weight", Shape{1, H});
  params_.add("decoder.out.weight", Shape{cfg_.tgt_vocab, H});
  params_.add("decoder.out.bias", Shape{cfg_.tgt_vocab}).decay = false;
  params_.finalize();
}

void Seq2Seq::init(uint64_t seed) {
  Rng rng(seed);
  const float k = 1.0f / std::sqrt(static_cast<float>(cfg_.hidden_size));
  for (const auto& p : params_.params()) {
    const bool emb = p->name.find("embedding") != std::string::npos;
    for (int64_t i = 0; i < p->numel(); ++i)
      p->value.f32()[i] = emb ? rng.normal() : (rng.uniform() * 2 - 1) * k;
  }
}

void Seq2Seq::load(const io::TensorMap& map) {
  for (const auto& p : params_.params()) load_parameter(*p, map, p->name);
}

nn::Var Seq2Seq::param(nn::Tape& t, const char* name) { return t.param(params_.get(name)); }

Seq2Seq::Encoded Seq2Seq::encode(nn::Tape& t, const int32_t* src, const int32_t* src_lens,
                                 int64_t batch, int64_t src_len, bool training, uint64_t seed) {
  nn::Var x = nn::embedding(t, param(t, "encoder.embedding.weight"), src, batch * src_len);
  if (training && cfg_.dropout > 0) x = nn::dropout(t, x, cfg_.dropout, seed);
  const nn::SeqLayout layout{src_len, batch, true, src_lens};
  RecurrentStack::Output o = encoder_.forward(t, x, layout, {}, {}, training, seed + 1);
  Encoded e;
  e.values = o.y;
  e.keys = nn::linear(t, o.y, param(t, "decoder.attention.Ua.weight"),
                      param(t, "decoder.attention.Ua.bias"));
  // The last layer's final state (each source's own last step; backward: its first).
  e.state = o.h_n.back();
  if (cfg_.bidirectional) {
    const nn::Var both = nn::concat_cols(t, o.h_n[o.h_n.size() - 2], o.h_n.back());
    e.state = nn::tanh(
        t, nn::linear(t, both, param(t, "encoder.fc.weight"), param(t, "encoder.fc.bias")));
  }
  return e;
}

Seq2Seq::Decoder Seq2Seq::decoder(nn::Tape& t, const int32_t* src, const int32_t* src_lens,
                                  int64_t batch, int64_t src_len, bool training, uint64_t seed) {
  nn::check_layout({src_len, batch, true, src_lens});
  Decoder d;
  d.enc = encode(t, src, src_lens, batch, src_len, training, seed);
  d.emb = param(t, "decoder.embedding.weight");
  d.wa = param(t, "decoder.attention.Wa.weight");
  d.wa_b = param(t, "decoder.attention.Wa.bias");
  d.va = param(t, "decoder.attention.Va.weight");
  d.out = param(t, "decoder.out.weight");
  d.out_b = param(t, "decoder.out.bias");
  d.state = d.enc.state;
  d.batch = batch, d.src_len = src_len, d.src_lens = src_lens;
  d.training = training, d.seed = seed;
  return d;
}

nn::Var Seq2Seq::step(nn::Tape& t, Decoder& d, const int32_t* ids, int64_t i, float* attention) {
  nn::Var x = nn::embedding(t, d.emb, ids, d.batch);
  if (d.training && cfg_.dropout > 0)
    x = nn::dropout(t, x, cfg_.dropout, d.seed + 16 + static_cast<uint64_t>(i));
  nn::Var q = nn::linear(t, d.state, d.wa, d.wa_b);
  nn::Var ctx = nn::additive_attention(t, q, d.enc.keys, d.enc.values, d.va, d.batch, d.src_len,
                                       d.src_lens, attention);
  const nn::SeqLayout one_step{1, d.batch, false, nullptr};
  d.state = decoder_.forward(t, nn::concat_cols(t, x, ctx), one_step, {d.state}).h_n[0];
  return nn::linear(t, d.state, d.out, d.out_b);
}

nn::Var Seq2Seq::loss(nn::Tape& t, const int32_t* src, const int32_t* src_lens, int64_t batch,
                      int64_t src_len, const int32_t* tgt_in, const int32_t* tgt_out,
                      int64_t tgt_len, bool training, uint64_t dropout_seed) {
  Decoder d = decoder(t, src, src_lens, batch, src_len, training, dropout_seed);
  int64_t predicted = 0;
  for (int64_t i = 0; i < batch * tgt_len; ++i) predicted += tgt_out[i] != -100;
  nn::Var total;
  std::vector<int32_t> ids(static_cast<size_t>(batch)), tg(static_cast<size_t>(batch));
  for (int64_t i = 0; i < tgt_len; ++i) {
    int64_t n = 0;
    for (int64_t b = 0; b < batch; ++b) {
      ids[static_cast<size_t>(b)] = tgt_in[b * tgt_len + i];
      tg[static_cast<size_t>(b)] = tgt_out[b * tgt_len + i];
      n += tg[static_cast<size_t>(b)] != -100;
    }
    nn::Var logits = step(t, d, ids.data(), i);
    if (n == 0) continue;
    nn::Var ce = nn::cross_entropy(t, logits, tg.data(), batch);
    // The step's mean times its share of the predicted tokens: the sum is the overall mean.
    float* w = t.save<float>(1);
    w[0] = static_cast<float>(n) / static_cast<float>(predicted);
    nn::Var part = nn::weighted_sum(t, ce, w);
    total = total.defined() ? nn::add(t, total, part) : part;
  }
  if (!total.defined()) throw Error("seq2seq loss: every target is ignored (-100)");
  return total;
}

std::vector<Seq2SeqOutput> Seq2Seq::greedy(ThreadPool& pool, const int32_t* src,
                                           const int32_t* src_lens, int64_t batch, int64_t src_len,
                                           int32_t bos, int32_t eos, int64_t max_len) {
  nn::Tape t(pool);
  t.set_grad_enabled(false);
  Decoder d = decoder(t, src, src_lens, batch, src_len, false, 0);
  std::vector<Seq2SeqOutput> out(static_cast<size_t>(batch));
  std::vector<int32_t> ids(static_cast<size_t>(batch), bos);
  std::vector<float> attn(static_cast<size_t>(batch * src_len));
  const int64_t V = cfg_.tgt_vocab;
  for (int64_t i = 0; i < max_len; ++i) {
    const float* lg = t.data(step(t, d, ids.data(), i, attn.data()));
    bool all_done = true;
    for (int64_t b = 0; b < batch; ++b) {
      Seq2SeqOutput& o = out[static_cast<size_t>(b)];
      const float* row = lg + b * V;
      const auto id = static_cast<int32_t>(std::max_element(row, row + V) - row);
      ids[static_cast<size_t>(b)] = id;
      if (o.finished) continue;
      o.sum_logprobs += static_cast<double>(row[id]) - log_sum_exp(row, V);
      o.attention.insert(o.attention.end(), attn.begin() + b * src_len,
                         attn.begin() + (b + 1) * src_len);
      if (id == eos)
        o.finished = true;
      else
        o.tokens.push_back(id);
      all_done = all_done && o.finished;
    }
    if (all_done) break;
  }
  for (Seq2SeqOutput& o : out) o.score = o.sum_logprobs;
  return out;
}

std::vector<float> Seq2Seq::attention(ThreadPool& pool, const int32_t* src, int64_t src_len,
                                      int32_t bos, const std::vector<int32_t>& tokens) {
  if (tokens.empty()) return {};
  Search s(*this, pool, src, src_len, bos);
  std::vector<float> out(s.attention(0), s.attention(0) + src_len);
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    const int parent = 0;
    s.advance({&parent, 1}, {&tokens[i], 1});
    out.insert(out.end(), s.attention(0), s.attention(0) + src_len);
  }
  return out;
}

Seq2Seq::Search::Search(Seq2Seq& m, ThreadPool& pool, const int32_t* src, int64_t src_len,
                        int32_t bos)
    : m_(m), t_(pool), src_len_(src_len), lens_(1, static_cast<int32_t>(src_len)) {
  t_.set_grad_enabled(false);
  d_ = m_.decoder(t_, src, lens_.data(), 1, src_len, false, 0);
  keys1_ = d_.enc.keys, values1_ = d_.enc.values;
  attn_.resize(static_cast<size_t>(src_len));
  logits_ = m_.step(t_, d_, &bos, steps_++, attn_.data());
}

const float* Seq2Seq::Search::logits(int64_t b) const {
  return t_.data(logits_) + b * m_.cfg_.tgt_vocab;
}

void Seq2Seq::Search::advance(std::span<const int> parents, std::span<const int32_t> tokens) {
  LOOM_ASSERT(!parents.empty() && parents.size() == tokens.size());
  const auto k = static_cast<int64_t>(parents.size());
  const std::vector<int32_t> rows(parents.begin(), parents.end());
  for (int32_t r : rows) LOOM_ASSERT(r >= 0 && r < rows_);
  d_.state = nn::embedding(t_, d_.state, rows.data(), k);  // each row's parent state
  if (k != d_.batch) {  // the one source's keys and values, once per row
    std::vector<int32_t> pos(static_cast<size_t>(k * src_len_));
    for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>(i % src_len_);
    d_.enc.keys = nn::embedding(t_, keys1_, pos.data(), k * src_len_);
    d_.enc.values = nn::embedding(t_, values1_, pos.data(), k * src_len_);
    lens_.assign(static_cast<size_t>(k), static_cast<int32_t>(src_len_));
    d_.src_lens = lens_.data(), d_.batch = k;
  }
  attn_.resize(static_cast<size_t>(k * src_len_));
  logits_ = m_.step(t_, d_, tokens.data(), steps_++, attn_.data());
  rows_ = k;
}

}  // namespace loom::models
