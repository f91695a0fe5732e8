// The ops interface an architecture's forward pass is written against, once. Two backends run
// it: the inference backend (models/infer_ops.cpp: memory-mapped weights of any dtype, a KV
// cache, decode-time fused matrix-vector products, no autograd) and the training backend
// (models/tape_ops.cpp: nn's tape, f32 parameters, LoRA adapters, forward + backward).
//
// Activations are (n, width) row matrices handled through Act; weights through Wt, a tensor
// role of the architecture's spec (models/decoder.h) and a layer. The backend knows the input
// (token ids, batch and sequence layout, positions), so an op never takes positions.
//
// In-place contract (what lets the inference backend reuse buffers): add() and mul() may
// overwrite their first argument, and rope(), activation(), glu() and scale() their inputs; a
// forward never reads an input of those ops again.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>

#include "core/kernels.h"
#include "models/layers.h"

namespace loom::models {

struct Act {
  int32_t id = -1;
  bool defined() const { return id >= 0; }
};

// A weight: role index into the architecture's tensor table, and the layer (0 for tensors that
// are not per layer). role < 0: none (an absent bias).
struct Wt {
  int32_t role = -1;
  int32_t layer = 0;
  bool defined() const { return role >= 0; }
};

// Up to four results of linears().
struct Acts {
  std::array<Act, 4> a{};
  Act operator[](size_t i) const { return a[i]; }
};

enum class Activation { GeluTanh, GeluErf, Relu, Silu, Tanh };

struct AttentionShape {
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  // false: every query sees every key of its sequence except the backend's padding (an
  // encoder); the inference backend then runs whole sequences from position 0.
  bool causal = true;
  // Encoder-decoders: queries from the decoder, keys and values from the encoder's output
  // (its padding masked); causal is then false.
  bool cross = false;
  float scale = 0;  // 0: 1/sqrt(head_dim); T5: 1
  Act bias{};       // from relative_position_bias(), added to the scores; undefined: none
};

struct RopeSettings;  // models/decoder.h

class Ops {
 public:
  virtual ~Ops() = default;
  // Whether an optional tensor (an untied head, a bias) is present.
  virtual bool has(Wt w) const = 0;
  // The backend's input tokens -> (n, C) rows of `table`.
  virtual Act embed_tokens(Wt table) = 0;
  // x (n, C) + rows of a learned position table at the inputs' positions. pad_id >= 0: RoBERTa's
  // position ids (Hugging Face create_position_ids_from_input_ids): a token that is not pad_id
  // takes pad_id + its 1-based index among its sequence's non-pad tokens, a pad token pad_id.
  virtual Act add_positions(Act x, Wt table, int32_t pad_id) = 0;
  Act add_positions(Act x, Wt table) { return add_positions(x, table, -1); }
  // x (n, C) + rows of `table` at the inputs' token types (BERT's segment ids; 0 when the backend
  // was given none).
  virtual Act add_token_types(Act x, Wt table) = 0;
  // x (n, in) -> (n, out) = x·Wᵀ (+ bias). The backend knows each role's storage layout.
  virtual Act linear(Act x, Wt w, Wt bias = {}) = 0;
  // Several projections of the same input (q/k/v, gate/up): one pass over x at decode time.
  virtual Acts linears(Act x, std::initializer_list<Wt> ws) = 0;
  virtual Act norm(Act x, Wt weight, Wt bias, NormKind kind, float eps) = 0;
  // Rotary embedding of every head of x (n, heads*head_dim) at the inputs' positions.
  virtual Act rope(Act x, int64_t n_heads, const RopeSettings& rope) = 0;
  // Self-attention of layer `layer` over q (n, H*D), k, v (n, KV*D) -> (n, H*D); the inference
  // backend appends k, v to its cache and attends over every cached position.
  virtual Act attention(int64_t layer, Act q, Act k, Act v, const AttentionShape& s) = 0;
  virtual Act add(Act a, Act b) = 0;
  // a ⊙ b, elementwise (a gated FFN whose activation has no GluKind: T5 v1.1's gelu_tanh);
  // may overwrite a.
  virtual Act mul(Act a, Act b) = 0;
  // s·x (T5's d_model^-0.5 before its tied head); may overwrite x.
  virtual Act scale(Act x, float s) = 0;
  virtual Act activation(Act x, Activation kind) = 0;
  virtual Act glu(Act gate, Act up, GluKind kind) = 0;
  // Encoder-decoders: the decoder's input tokens -> (n, C) rows of `table`.
  virtual Act embed_decoder_tokens(Wt table) = 0;
  // x (n, C) of the encoder's inputs (decoder false) or the decoder's + rows first_row + t of a
  // learned table, t each row's position in its sequence (BART: first_row 2).
  virtual Act add_offset_positions(Act x, Wt table, int64_t first_row, bool decoder) = 0;
  // T5's relative position bias for the self-attention of the encoder (causal false: keys both
  // ways) or the decoder (causal true): (Tq*Tk, H) rows of `table` (num_buckets, H) at
  // relative_position_bucket(key - query); passed to attention() in AttentionShape::bias.
  virtual Act relative_position_bias(Wt table, int64_t num_buckets, int64_t max_distance,
                                     bool causal) = 0;
  // x (n, C) -> x[:, start:start+width].
  virtual Act slice_cols(Act x, int64_t start, int64_t width) = 0;
  // x (B*T, C) -> (B, C): the first row of every sequence (BERT's [CLS]).
  virtual Act first_rows(Act x) = 0;
  // Rows whose outputs are wanted (inference: the last row unless every row's logits are asked
  // for; training: all). Called before the final norm.
  virtual Act output_rows(Act x) = 0;
  // Marks the end of a block: every activation but x is dead (the inference backend recycles
  // their memory; the tape keeps everything for backward).
  virtual Act end_block(Act x) = 0;
};

}  // namespace loom::models
