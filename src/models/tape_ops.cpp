#include "models/tape_ops.h"

#include <algorithm>

#include "core/error.h"
#include "models/causal_lm.h"
#include "nn/lora.h"
#include "nn/ops.h"

namespace loom::models {

namespace {
nn::Var V(Act a) { return nn::Var{a.id}; }
Act A(nn::Var v) { return Act{v.id}; }
}  // namespace

bool TapeOps::has(Wt w) const { return m_.param(w) != nullptr; }

nn::Var TapeOps::p(Wt w) {
  nn::Parameter* param = m_.param(w);
  LOOM_ASSERT(param != nullptr, "a weight the model does not have");
  return t_.param(*param);
}

nn::Var TapeOps::embedding(Wt table, const int32_t* ids, int64_t n) {
  nn::Parameter& e = *m_.param(table);
  return nn::embedding(t_, t_.param(e), ids, n,
                       e.frozen_rows.empty() ? nullptr : e.frozen_rows.data());
}

const int32_t* TapeOps::positions() {
  if (positions_ != nullptr) return positions_;
  const int64_t n = batch_ * seq_;
  int32_t* pos = t_.save<int32_t>(n);
  for (int64_t i = 0; i < n; ++i) {
    const bool starts = i % seq_ == 0 || (segments_ != nullptr && segments_[i] != segments_[i - 1]);
    pos[i] = starts ? 0 : pos[i - 1] + 1;
  }
  return positions_ = pos;
}

Act TapeOps::embed_tokens(Wt table) { return A(embedding(table, ids_, batch_ * seq_)); }

Act TapeOps::embed_decoder_tokens(Wt table) {
  LOOM_ASSERT(dec_ids_ != nullptr, "an encoder-decoder's batch needs decoder inputs");
  return A(embedding(table, dec_ids_, batch_ * dec_seq_));
}

Act TapeOps::add_offset_positions(Act x, Wt table, int64_t first_row, bool decoder) {
  const int64_t T = decoder ? dec_seq_ : seq_, n = batch_ * T;
  int32_t* pos = t_.save<int32_t>(n);
  for (int64_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(first_row + i % T);
  return A(nn::add(t_, V(x), embedding(table, pos, n)));
}

// A gather of the bucket table's rows at bucket(j - i) for every (query i, key j): nn's
// embedding, whose backward scatters the scores' gradient back into the table.
Act TapeOps::relative_position_bias(Wt table, int64_t num_buckets, int64_t max_distance,
                                    bool causal) {
  const int64_t T = causal ? dec_seq_ : seq_;
  int32_t* buckets = t_.save<int32_t>(T * T);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j)
      buckets[i * T + j] = relative_position_bucket(j - i, !causal, num_buckets, max_distance);
  return A(nn::embedding(t_, p(table), buckets, T * T));
}

Act TapeOps::add_positions(Act x, Wt table, int32_t pad_id) {
  const int64_t n = batch_ * seq_;
  if (pad_id < 0) return A(nn::add(t_, V(x), embedding(table, positions(), n)));
  LOOM_ASSERT(segments_ == nullptr, "RoBERTa's padding-based positions with packed segments");
  int32_t* pos = t_.save<int32_t>(n);
  for (int64_t b = 0; b < batch_; ++b) {
    int32_t real = 0;
    for (int64_t i = b * seq_; i < (b + 1) * seq_; ++i)
      pos[i] = ids_[i] == pad_id ? pad_id : pad_id + ++real;
  }
  return A(nn::add(t_, V(x), embedding(table, pos, n)));
}

Act TapeOps::add_token_types(Act x, Wt table) {
  const int64_t n = batch_ * seq_;
  const int32_t* types = types_;
  if (types == nullptr) {
    int32_t* zeros = t_.save<int32_t>(n);
    std::fill(zeros, zeros + n, 0);
    types = zeros;
  }
  return A(nn::add(t_, V(x), embedding(table, types, n)));
}

// A row gather is an embedding lookup into x (its backward scatters the rows' gradients back).
Act TapeOps::first_rows(Act x) {
  int32_t* rows = t_.save<int32_t>(batch_);
  for (int64_t b = 0; b < batch_; ++b) rows[b] = static_cast<int32_t>(b * seq_);
  return A(nn::embedding(t_, V(x), rows, batch_));
}

Act TapeOps::linear(Act x, Wt w, Wt bias) {
  const bool in_out = m_.architecture().tensors()[static_cast<size_t>(w.role)].hf_in_out;
  const nn::WeightLayout layout = in_out ? nn::WeightLayout::InOut : nn::WeightLayout::OutIn;
  nn::Var b = bias.defined() ? p(bias) : nn::Var{};
  if (const LoraSite* s = m_.lora_site(w))
    return A(nn::lora_linear(t_, V(x), p(w), b, layout, t_.param(m_.params().get(s->a)),
                             t_.param(m_.params().get(s->b)), m_.lora().scale()));
  return A(nn::linear(t_, V(x), p(w), b, layout));
}

Acts TapeOps::linears(Act x, std::initializer_list<Wt> ws) {
  Acts out;
  size_t i = 0;
  for (const Wt& w : ws) out.a[i++] = linear(x, w, {});
  return out;
}

Act TapeOps::norm(Act x, Wt weight, Wt bias, NormKind kind, float eps) {
  if (kind == NormKind::RMS) return A(nn::rmsnorm(t_, V(x), p(weight), eps));
  return A(nn::layernorm(t_, V(x), p(weight), bias.defined() ? p(bias) : nn::Var{}, eps));
}

Act TapeOps::rope(Act x, int64_t n_heads, const RopeSettings& r) {
  const int64_t head_dim = t_.shape(V(x)).last() / n_heads;
  return A(nn::rope(t_, V(x), batch_, seq_, n_heads, head_dim, r.rot_dim, r.theta, r.style, 0,
                    r.freq_factors.empty() ? nullptr : r.freq_factors.data(),
                    segments_ != nullptr ? positions() : nullptr));
}

// Encoder self-attention (bidirectional, the encoder's key mask), decoder self-attention
// (causal, the decoder's key mask) or cross-attention (decoder queries over the encoder's keys).
Act TapeOps::attention(int64_t, Act q, Act k, Act v, const AttentionShape& s) {
  const bool seq2seq = dec_ids_ != nullptr;
  if (s.causal && !seq2seq)
    LOOM_ASSERT(key_mask_ == nullptr, "a key padding mask is for bidirectional attention");
  LOOM_ASSERT(segments_ == nullptr || (s.causal && !seq2seq),
              "packed segments are for a decoder-only model's causal self-attention");
  nn::AttentionOptions o{batch_,       seq_,       seq_,     s.n_heads,
                         s.n_kv_heads, s.head_dim, s.causal, s.causal ? nullptr : key_mask_,
                         s.scale};
  o.segments = segments_;
  if (seq2seq && (s.causal || s.cross)) o.q_len = dec_seq_;
  if (seq2seq && s.causal) {
    o.k_len = dec_seq_;
    o.key_mask = dec_key_mask_;
  }
  return A(nn::attention(t_, V(q), V(k), V(v), o, s.bias.defined() ? V(s.bias) : nn::Var{}));
}

Act TapeOps::add(Act a, Act b) { return A(nn::add(t_, V(a), V(b))); }
Act TapeOps::mul(Act a, Act b) { return A(nn::mul(t_, V(a), V(b))); }
Act TapeOps::scale(Act x, float s) { return A(nn::scale_by(t_, V(x), s)); }

Act TapeOps::activation(Act x, Activation kind) {
  switch (kind) {
    case Activation::GeluTanh:
      return A(nn::gelu(t_, V(x), nn::GeluKind::Tanh));
    case Activation::GeluErf:
      return A(nn::gelu(t_, V(x), nn::GeluKind::Erf));
    case Activation::Silu:
      return A(nn::silu(t_, V(x)));
    case Activation::Tanh:
      return A(nn::tanh(t_, V(x)));
    case Activation::Relu:
      return A(nn::relu(t_, V(x)));
  }
  throw Error("training: unknown activation");
}

Act TapeOps::glu(Act gate, Act up, GluKind kind) { return A(nn::glu(t_, V(gate), V(up), kind)); }

Act TapeOps::slice_cols(Act x, int64_t start, int64_t width) {
  return A(nn::slice_cols(t_, V(x), start, width));
}

}  // namespace loom::models
