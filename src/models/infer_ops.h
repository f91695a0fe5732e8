// The inference backend of models::Ops: an architecture's forward run on a Model's bound weights
// (any dtype, memory-mapped), one Session's KV cache and scratch, no autograd. A block's
// activations live in the session's arena, rewound at every end_block (the residual stream moves
// to its own buffer), and the Act table is the session's too, so each layer reuses the same
// memory and a steady-state step allocates nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "models/model.h"
#include "models/ops.h"

namespace loom::models {

class InferOps final : public Ops {
 public:
  // tokens (n) at the session's position; all_rows: every row's output is wanted (else the last).
  InferOps(const Model& model, Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n,
           bool all_rows);
  // Batched decode (Model::forward_batch): row i is tokens[i] of batch[i] at that session's own
  // position, attending over its own cache; every row's output is wanted. The activations live
  // in batch[0]'s scratch.
  InferOps(const Model& model, Session* const* batch, int64_t B, ThreadPool& pool,
           const int32_t* tokens);

  // The next activation of exactly rows x cols floats is written to dst instead of scratch (the
  // logits go straight into the session's buffer).
  void write_next_to(float* dst) { next_dst_ = dst; }
  const float* data(Act a) const { return acts_[static_cast<size_t>(a.id)].p; }
  // Encoder-decoders: the session's encoded source (rows, dim) as an activation. A linear of it
  // is computed once per source and kept in the memory (cross-attention's keys and values).
  Act encoder_output();
  int64_t rows(Act a) const { return acts_[static_cast<size_t>(a.id)].rows; }

  bool has(Wt w) const override { return !model_.bound(w).empty(); }
  Act embed_tokens(Wt table) override;
  using Ops::add_positions;
  Act add_positions(Act x, Wt table, int32_t pad_id) override;
  Act add_token_types(Act x, Wt table) override;
  Act first_rows(Act x) override;
  Act linear(Act x, Wt w, Wt bias) override;
  Acts linears(Act x, std::initializer_list<Wt> ws) override;
  Act norm(Act x, Wt weight, Wt bias, NormKind kind, float eps) override;
  Act rope(Act x, int64_t n_heads, const RopeSettings& rope) override;
  Act attention(int64_t layer, Act q, Act k, Act v, const AttentionShape& s) override;
  Act add(Act a, Act b) override;
  Act mul(Act a, Act b) override;
  Act scale(Act x, float s) override;
  Act embed_decoder_tokens(Wt table) override;
  Act add_offset_positions(Act x, Wt table, int64_t first_row, bool decoder) override;
  Act relative_position_bias(Wt table, int64_t num_buckets, int64_t max_distance,
                             bool causal) override;
  Act activation(Act x, Activation kind) override;
  Act glu(Act gate, Act up, GluKind kind) override;
  Act slice_cols(Act x, int64_t start, int64_t width) override;
  Act output_rows(Act x) override;
  Act end_block(Act x) override;

 private:
  using Buf = Session::ActBuf;
  Act push(float* p, int64_t rows, int64_t cols);
  Act alloc(int64_t rows, int64_t cols);
  Act memory_linear(Wt w, Wt bias);
  int64_t pos_of(int64_t row) const { return batch_ ? batch_[row]->pos_ : pos0_ + row; }
  Act batch_attention(int64_t layer, Act q, Act k, Act v, const AttentionShape& s);
  KeyValues self_keys(int64_t layer, Act k, Act v, int64_t n);
  KeyValues cross_keys(int64_t layer, Act k, Act v, const AttentionShape& s);
  void attend_biased(const AttentionDims& dims, const float* q, int64_t n, const KeyValues& kv,
                     int64_t causal_offset, const Buf& bias, float* out);
  const Buf& buf(Act a) const { return acts_[static_cast<size_t>(a.id)]; }
  const float* bias_of(Wt b) const { return b.defined() ? model_.bound(b).as<float>() : nullptr; }

  const Model& model_;
  Session& s_;
  ThreadPool& pool_;
  const int32_t* tokens_;
  int64_t n_, pos0_;
  bool all_rows_;
  Session* const* batch_ = nullptr;  // batched decode: the n_ sessions, one per row
  float* next_dst_ = nullptr;
  int32_t memory_act_ = -1;
  std::vector<Buf>& acts_;  // the session's, cleared per forward and at every end_block
};

}  // namespace loom::models
