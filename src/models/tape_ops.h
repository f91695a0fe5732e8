// The training backend of models::Ops: an architecture's forward run on nn's tape over a
// CausalLm's parameters (Hugging Face layouts, LoRA adapters where the model has them), for
// batches of B sequences of T tokens.
#pragma once

#include <cstdint>
#include <vector>

#include "models/ops.h"
#include "nn/tape.h"

namespace loom::models {

// CausalLm (models/causal_lm.h) runs its forward through TapeOps (causal_lm.cpp); declared here,
// not included, so neither header depends on the other.
class CausalLm;

// A batch of B sequences of T tokens: ids (B*T); an encoder's token types (B*T, null: all 0)
// and key mask (B*T, 1 real / 0 padding, null: no padding; bidirectional attention only). An
// encoder-decoder's batch adds the decoder's inputs: decoder_ids (B*decoder_seq) and their key
// mask (null: no padding) for the decoder's causal self-attention. A decoder-only batch may pack
// several examples into each sequence: segments (B*T, null: one example per sequence) gives every
// token its example, each example a run of equal ids; attention then stays within a run
// (block-diagonal causal mask) and positions (RoPE, learned) restart at 0 where a run starts.
struct TokenBatch {
  const int32_t* ids = nullptr;
  int64_t batch = 0, seq = 0;
  const int32_t* token_types = nullptr;
  const uint8_t* key_mask = nullptr;
  const int32_t* decoder_ids = nullptr;
  int64_t decoder_seq = 0;
  const uint8_t* decoder_key_mask = nullptr;
  const int32_t* segments = nullptr;
};

class TapeOps final : public Ops {
 public:
  TapeOps(CausalLm& model, nn::Tape& t, const TokenBatch& in)
      : m_(model),
        t_(t),
        ids_(in.ids),
        batch_(in.batch),
        seq_(in.seq),
        types_(in.token_types),
        key_mask_(in.key_mask),
        dec_ids_(in.decoder_ids),
        dec_seq_(in.decoder_seq),
        dec_key_mask_(in.decoder_key_mask),
        segments_(in.segments) {}

  bool has(Wt w) const override;
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
  Act output_rows(Act x) override { return x; }
  Act end_block(Act x) override { return x; }

 private:
  nn::Var p(Wt w);
  nn::Var embedding(Wt table, const int32_t* ids, int64_t n);
  // Every token's position in its sequence, or in its segment when the batch has segments.
  const int32_t* positions();

  CausalLm& m_;
  nn::Tape& t_;
  const int32_t* ids_;
  int64_t batch_, seq_;
  const int32_t* types_;
  const uint8_t* key_mask_;
  const int32_t* dec_ids_;
  int64_t dec_seq_;
  const uint8_t* dec_key_mask_;
  const int32_t* segments_;
  const int32_t* positions_ = nullptr;  // on the tape, made by positions()
};

}  // namespace loom::models
