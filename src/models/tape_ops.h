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

class TapeOps final : public Ops {
 public:
  TapeOps(CausalLm& model, nn::Tape& t, const int32_t* ids, int64_t batch, int64_t seq)
      : m_(model), t_(t), ids_(ids), batch_(batch), seq_(seq) {}

  bool has(Wt w) const override;
  Act embed_tokens(Wt table) override;
  Act add_positions(Act x, Wt table) override;
  Act linear(Act x, Wt w, Wt bias) override;
  Acts linears(Act x, std::initializer_list<Wt> ws) override;
  Act norm(Act x, Wt weight, Wt bias, NormKind kind, float eps) override;
  Act rope(Act x, int64_t n_heads, const RopeSettings& rope) override;
  Act attention(int64_t layer, Act q, Act k, Act v, const AttentionShape& s) override;
  Act add(Act a, Act b) override;
  Act activation(Act x, Activation kind) override;
  Act glu(Act gate, Act up, GluKind kind) override;
  Act slice_cols(Act x, int64_t start, int64_t width) override;
  Act output_rows(Act x) override { return x; }
  Act end_block(Act x) override { return x; }

 private:
  nn::Var p(Wt w);
  nn::Var embedding(Wt table, const int32_t* ids);

  CausalLm& m_;
  nn::Tape& t_;
  const int32_t* ids_;
  int64_t batch_, seq_;
};

}  // namespace loom::models
