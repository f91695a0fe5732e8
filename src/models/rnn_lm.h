// A word-level recurrent language model: embedding -> dropout -> recurrent stack (dropout between
// layers) -> dropout -> linear to the vocabulary, the head optionally tied to the embedding (Press
// & Wolf 2017; needs emb_size == hidden_size). The layout and parameter names are those of
// PyTorch's word_language_model example (encoder.weight, rnn.weight_ih_l0, ..., decoder.weight,
// decoder.bias), so its state dicts interchange.
//
// Training uses truncated backpropagation through time: the batch is B parallel streams of the
// corpus, each step reads the next T tokens of every stream, and the recurrent state carries
// from one step to the next as values only (detached: no gradient flows across the boundary).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/tensor_map.h"
#include "models/recurrent.h"
#include "nn/param.h"
#include "nn/tape.h"

namespace loom::models {

struct RnnLmConfig {
  int64_t vocab_size = 0;
  int64_t emb_size = 200, hidden_size = 200, num_layers = 2;
  nn::CellKind kind = nn::CellKind::Lstm;
  float dropout = 0.2f;  // on the embeddings, between layers and on the top layer's output
  bool tied = false;     // decoder.weight is encoder.weight
  std::string describe() const;
};

// Checks a config (a loom::Error names the field).
void validate(const RnnLmConfig& c);

// The recurrent state between truncated-BPTT steps, plain values (L, B, H) each; c for LSTM.
struct RnnState {
  int64_t batch = 0;
  std::vector<float> h, c;
};

class RnnLm {
 public:
  explicit RnnLm(const RnnLmConfig& cfg);
  const RnnLmConfig& config() const { return cfg_; }
  nn::ParamStore& params() { return params_; }
  const RecurrentStack& rnn() const { return rnn_; }

  // PyTorch example's init: encoder and decoder weights ~ U(-0.1, 0.1), decoder bias 0, the
  // recurrent stack U(-1/sqrt(H), 1/sqrt(H)).
  void init(uint64_t seed);
  // Copies a PyTorch RNNModel state dict (encoder.weight, rnn.*, decoder.weight unless tied,
  // decoder.bias); a missing tensor or a wrong shape is a loom::Error naming it.
  void load(const io::TensorMap& map);
  // A zero state for `batch` streams.
  RnnState zero_state(int64_t batch) const;

  // ids, targets (T·B, time-major: row t·B + b is stream b's token t) -> mean next-token
  // cross-entropy. Reads `state` as the initial state (no gradient) and leaves the final one in
  // it. Dropout (training only) draws its masks from dropout_seed.
  nn::Var loss(nn::Tape& t, const int32_t* ids, const int32_t* targets, int64_t seq,
               RnnState& state, bool training, uint64_t dropout_seed);

 private:
  RnnLmConfig cfg_;
  nn::ParamStore params_;
  RecurrentStack rnn_;
};

}  // namespace loom::models
