// Sequence-to-sequence with additive (Bahdanau) attention, the layout of PyTorch's "NLP from
// scratch: translation with a sequence to sequence network and attention" tutorial:
//   encoder: embedding -> recurrent stack (batch-first, variable-length sources), optionally
//     bidirectional: outputs [forward | backward] (2H) and an initial decoder state
//     tanh(encoder.fc·[last layer's final forward state | final backward state] + b) (H), the
//     layout of Bahdanau et al.'s bidirectional annotations as most PyTorch ports write it;
//   decoder, one step per target token, from the encoder's (last layer's) final state:
//     context = attention(query = previous state, keys = U_a·enc + b, values = enc outputs)
//     state   = cell([embedding(previous token) | context], previous state)
//     logits  = out·state + b
// with scores v_aᵀ tanh(W_a·s + b_W + U_a·h_j + b_U) masked to each source's length (the
// tutorial's Va bias shifts every score equally, so softmax drops it; it is left out).
// Parameters carry the tutorial modules' names (encoder.embedding.weight, encoder.rnn.weight_ih_l0,
// decoder.attention.Wa.weight, decoder.rnn.*, decoder.out.weight, ...; encoder.fc.* and the
// encoder's *_reverse tensors only when bidirectional). With a bidirectional encoder the values
// and Ua's input are 2H wide, and the decoder's input is [embedding | context] = E + 2H.
#pragma once

#include <cstdint>
#include <span>
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
  bool bidirectional = false;             // the encoder's
  nn::CellKind kind = nn::CellKind::Gru;  // RnnTanh, RnnRelu or Gru (the decoder has one state)
  float dropout = 0.1f;                   // on both embeddings, training only
};

void validate(const Seq2SeqConfig& c);

// One decoded sequence of one source.
struct Seq2SeqOutput {
  std::vector<int32_t> tokens;  // the generated tokens, EOS not included
  bool finished = false;        // ended with EOS (else: stopped at the length limit)
  double sum_logprobs = 0;      // log-probabilities of the tokens (and the EOS when finished)
  double score = 0;             // greedy: sum_logprobs; beam: sum_logprobs / len^length_penalty
  // (steps, src_len) row-major: the attention weights of each decoder step (one per token, and
  // one for the EOS when finished) over the source positions; 0 past the source's length.
  std::vector<float> attention;
};

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

  // Greedy decoding (argmax at every step, from bos, until eos or max_len steps) of B sources,
  // on a tape that records no gradients.
  std::vector<Seq2SeqOutput> greedy(ThreadPool& pool, const int32_t* src, const int32_t* src_lens,
                                    int64_t batch, int64_t src_len, int32_t bos, int32_t eos,
                                    int64_t max_len);

  // Step-by-step decoding of one source for a search: the source is encoded once; a set of live
  // rows each holds a decoder state, starting with one row that has read bos. No gradients.
  class Search;

  // The attention weights (one row per step, as Seq2SeqOutput::attention) of decoding `tokens`
  // (the EOS included when wanted) from bos: teacher forcing of one source.
  std::vector<float> attention(ThreadPool& pool, const int32_t* src, int64_t src_len, int32_t bos,
                               const std::vector<int32_t>& tokens);

 private:
  struct Encoded {
    nn::Var values, keys, state;  // (B·S, D·H), (B·S, H), (B, H)
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
  // One decoder step from tokens ids (B) at position i -> logits (B, tgt_vocab); attention
  // (B·S) or null receives the step's attention weights.
  nn::Var step(nn::Tape& t, Decoder& d, const int32_t* ids, int64_t i, float* attention = nullptr);
  Encoded encode(nn::Tape& t, const int32_t* src, const int32_t* src_lens, int64_t batch,
                 int64_t src_len, bool training, uint64_t seed);
  nn::Var param(nn::Tape& t, const char* name);
  Seq2SeqConfig cfg_;
  nn::ParamStore params_;
  RecurrentStack encoder_, decoder_;
};

class Seq2Seq::Search {
 public:
  Search(Seq2Seq& m, ThreadPool& pool, const int32_t* src, int64_t src_len, int32_t bos);
  int64_t rows() const { return rows_; }
  int64_t src_len() const { return src_len_; }
  // Row b's next-token logits (tgt_vocab) and the attention weights (src_len) its last step
  // used.
  const float* logits(int64_t b) const;
  const float* attention(int64_t b) const { return attn_.data() + b * src_len_; }
  // The new rows: row i is old row parents[i] after reading tokens[i].
  void advance(std::span<const int> parents, std::span<const int32_t> tokens);

 private:
  Seq2Seq& m_;
  nn::Tape t_;
  Decoder d_;
  nn::Var keys1_, values1_, logits_;  // the source's keys and values (S, ·), one copy
  int64_t src_len_, rows_ = 1, steps_ = 0;
  std::vector<int32_t> lens_;
  std::vector<float> attn_;  // (rows, S)
};

}  // namespace loom::models
