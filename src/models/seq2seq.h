// Sequence-to-sequence with additive (Bahdanau) attention, the layout of PyTorch's "NLP from
// scratch: translation with a sequence to sequence network and attention" tutorial:
//   encoder: embedding -> recurrent stack (batch-first, variable-length sources);
//   decoder, one step per target token, from the encoder's final state:
//     context = attention(query = previous state, keys = U_a·enc + b, values = enc outputs)
//     state   = cell([embedding(previous token) | context], previous state)
//     logits  = out·state + b
// with scores v_aᵀ tanh(W_a·s + b_W + U_a·h_j + b_U) masked to each source's length (the
// tutorial's Va bias shifts every score equally, so softmax drops it; it is left out).
// Parameters carry the tutorial modules' names (encoder.embedding.weight, encoder.rnn.weight_ih_l0,
// decoder.attention.Wa.weight, decoder.rnn.*, decoder.out.weight, ...).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/threads.h"
#include "io/tensor_map.h"
#include "models/recurrent.h"
#include "nn/param.h"
#include "nn/tape.h"

namespace loom::models {

struct Seq2SeqConfig {
  int64_t src_vocab = 0, tgt_vocab = 0;
  int64_t emb_size = 64, hidden_size = 64;
  int64_t encoder_layers = 1;
  nn::CellKind kind = nn::CellKind::Gru;  // RnnTanh, RnnRelu or Gru (the decoder has one state)
  float dropout = 0.1f;                   // on both embeddings, training only
};

void validate(const Seq2SeqConfig& c);

class Seq2Seq {
 public:
  explicit Seq2Seq(const Seq2SeqConfig& cfg);
  const Seq2SeqConfig& config() const { return cfg_; }
  nn::ParamStore& params() { return params_; }

  // Every matrix and bias ~ U(-1/sqrt(H), 1/sqrt(H)), embeddings ~ N(0, 1) (PyTorch's defaults).
  void init(uint64_t seed);
  // Copies a state dict of the tutorial's modules (names above); errors name the tensor.
  void load(const io::TensorMap& map);

  // Teacher-forced loss. src (B·S, batch-first) with src_lens (B, in [1, S]); tgt_in (B·T) the
  // decoder's input tokens (BOS, y1, ...), tgt_out (B·T) the tokens to predict (-100: ignored)
  // -> mean cross-entropy over the predicted tokens.
  nn::Var loss(nn::Tape& t, const int32_t* src, const int32_t* src_lens, int64_t batch,
               int64_t src_len, const int32_t* tgt_in, const int32_t* tgt_out, int64_t tgt_len,
               bool training, uint64_t dropout_seed);

  // Greedy decoding (argmax at every step, from bos, until eos or max_len tokens; eos is not
  // included) of B sources, on a tape that records no gradients.
  std::vector<std::vector<int32_t>> greedy(ThreadPool& pool, const int32_t* src,
                                           const int32_t* src_lens, int64_t batch, int64_t src_len,
                                           int32_t bos, int32_t eos, int64_t max_len);

 private:
  struct Encoded {
    nn::Var values, keys, state;  // (B·S, H), (B·S, H), (B, H)
  };
  // The decoder's running state and the tensors every step reads.
  struct Decoder {
    Encoded enc;
    nn::Var emb, wa, wa_b, va, out, out_b, state;
    int64_t batch = 0, src_len = 0;
    const int32_t* src_lens = nullptr;
    bool training = false;
    uint64_t seed = 0;
  };
  Decoder decoder(nn::Tape& t, const int32_t* src, const int32_t* src_lens, int64_t batch,
                  int64_t src_len, bool training, uint64_t seed);
  // One decoder step from tokens ids (B) at position i -> logits (B, tgt_vocab).
  nn::Var step(nn::Tape& t, Decoder& d, const int32_t* ids, int64_t i);
  Encoded encode(nn::Tape& t, const int32_t* src, const int32_t* src_lens, int64_t batch,
                 int64_t src_len, bool training, uint64_t seed);
  nn::Var param(nn::Tape& t, const char* name);
  Seq2SeqConfig cfg_;
  nn::ParamStore params_;
  RecurrentStack encoder_, decoder_;
};

}  // namespace loom::models
