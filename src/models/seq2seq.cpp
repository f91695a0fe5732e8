#include "models/seq2seq.h"

#include <cmath>
#include <vector>

#include "core/error.h"
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
  r.batch_first = true;
  return r;
}

RecurrentConfig decoder_config(const Seq2SeqConfig& c) {
  RecurrentConfig r = encoder_config(c);
  r.input_size = c.emb_size + c.hidden_size;  // [embedding | context]
  r.num_layers = 1;
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
  const int64_t E = cfg_.emb_size, H = cfg_.hidden_size;
  params_.add("encoder.embedding.weight", Shape{cfg_.src_vocab, E});
  params_.add("decoder.embedding.weight", Shape{cfg_.tgt_vocab, E});
  for (const char* m : {"Wa", "Ua"}) {
    params_.add(std::string("decoder.attention.") + m + ".weight", Shape{H, H});
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
  e.state = o.h_n.back();  // the last layer's final state, at each source's own last step
  return e;
}

nn::Var Seq2Seq::loss(nn::Tape& t, const int32_t* src, const int32_t* src_lens, int64_t batch,
                      int64_t src_len, const int32_t* tgt_in, const int32_t* tgt_out,
                      int64_t tgt_len, bool training, uint64_t dropout_seed) {
  nn::check_layout({src_len, batch, true, src_lens});
  const Encoded enc = encode(t, src, src_lens, batch, src_len, training, dropout_seed);
  const nn::Var emb = param(t, "decoder.embedding.weight"),
                wa = param(t, "decoder.attention.Wa.weight"),
                wa_b = param(t, "decoder.attention.Wa.bias"),
                va = param(t, "decoder.attention.Va.weight"), out = param(t, "decoder.out.weight"),
                out_b = param(t, "decoder.out.bias");
  int64_t predicted = 0;
  for (int64_t i = 0; i < batch * tgt_len; ++i) predicted += tgt_out[i] != -100;
  nn::Var state = enc.state, total;
  std::vector<int32_t> ids(static_cast<size_t>(batch)), tg(static_cast<size_t>(batch));
  for (int64_t i = 0; i < tgt_len; ++i) {
    int64_t n = 0;
    for (int64_t b = 0; b < batch; ++b) {
      ids[static_cast<size_t>(b)] = tgt_in[b * tgt_len + i];
      tg[static_cast<size_t>(b)] = tgt_out[b * tgt_len + i];
      n += tg[static_cast<size_t>(b)] != -100;
    }
    nn::Var x = nn::embedding(t, emb, ids.data(), batch);
    if (training && cfg_.dropout > 0)
      x = nn::dropout(t, x, cfg_.dropout, dropout_seed + 16 + static_cast<uint64_t>(i));
    nn::Var q = nn::linear(t, state, wa, wa_b);
    nn::Var ctx = nn::additive_attention(t, q, enc.keys, enc.values, va, batch, src_len, src_lens);
    state =
        decoder_.forward(t, nn::concat_cols(t, x, ctx), {1, batch, false, nullptr}, {state}).h_n[0];
    if (n == 0) continue;
    nn::Var ce = nn::cross_entropy(t, nn::linear(t, state, out, out_b), tg.data(), batch);
    // The step's mean times its share of the predicted tokens: the sum is the overall mean.
    float* w = t.save<float>(1);
    w[0] = static_cast<float>(n) / static_cast<float>(predicted);
    nn::Var part = nn::weighted_sum(t, ce, w);
    total = total.defined() ? nn::add(t, total, part) : part;
  }
  if (!total.defined()) throw Error("seq2seq loss: every target is ignored (-100)");
  return total;
}

}  // namespace loom::models
