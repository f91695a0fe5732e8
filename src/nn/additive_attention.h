// Additive (Bahdanau) attention over a variable-length batch of source sequences, one query
// per sequence (a decoder step), as a fused op:
//   e_j = vᵀ tanh(q + k_j),  α = softmax(e) over the sequence's j < length,  context = Σ_j α_j m_j
// (Bahdanau, Cho & Bengio 2015, eq. 6 and the appendix's a(s, h) = vᵀ tanh(W s + U h): the
// caller computes q = W·s per step and k = U·h once per source with linear()).
#pragma once

#include <cstdint>

#include "nn/tape.h"

namespace loom::nn {

// q (B, A), keys (B·S, A), values (B·S, C), v (A) -> context (B, C). Rows of keys and values
// are b·S + j; lengths (B, each in [1, S], copied) or null (all S). Positions at and past a
// sequence's length get weight 0. weights_out (B·S) or null receives α (no gradient).
Var additive_attention(Tape& t, Var q, Var keys, Var values, Var v, int64_t batch, int64_t src_len,
                       const int32_t* lengths, float* weights_out = nullptr);

}  // namespace loom::nn
