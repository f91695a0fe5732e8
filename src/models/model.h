// Inference: a loaded model behind the small interfaces that generate, embed and eval take.
//
// LanguageModel: token ids -> next-token logits, with a per-sequence Session (KV cache, position,
// scratch). Encoder: token ids -> one hidden state per token (what embeddings pool), through a
// reusable per-thread State, plus the checkpoint it was loaded from (weights(), the architecture's
// name); every LanguageModel is one (decoder-only models are embedded through their final hidden
// states), and the encoders to come (BERT, T5's encoder) implement only Encoder.
//
// Model is the one LanguageModel for every architecture of the registry: the architecture's forward
// (models/<arch>.cpp) run by the inference backend over weights bound from its spec. It is
// immutable after load and may serve many Sessions at once. An encoder (BERT, RoBERTa: not
// Architecture::causal) runs through it too, but only whole sequences from position 0: its
// Encoder side embeds, forward(all_logits) gives its masked-LM logits, and token-by-token
// decoding is a loom::Error.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/tensor.h"
#include "core/threads.h"
#include "io/tensor_map.h"
#include "models/attention.h"
#include "models/decoder.h"

namespace loom::models {

class Session;

// An encoder-decoder's source, encoded once (Model::encode_source): the encoder's output and,
// computed the first time the decoder asks for them, its projections (each cross-attention's keys
// and values) in cache layout. Shared by every Session decoding from the same source (beams);
// filled under the mutex, read-only after.
struct EncoderMemory {
  std::vector<float> out;  // (rows, dim)
  int64_t rows = 0;
  std::mutex mu;
  std::map<std::pair<int32_t, int32_t>, std::vector<float>> projections;  // by (role, layer)
  std::vector<std::unique_ptr<AttentionCache>> cross;                     // by decoder layer
};

class Encoder {
 public:
  // Per-caller working memory of encode (activations, caches), kept from one call to the next so
  // a thread embedding many texts allocates once. One State serves one thread at a time.
  class State {
   public:
    virtual ~State() = default;
  };

  virtual ~Encoder() = default;
  // The checkpoint as read: metadata (the tokenizer of a GGUF, config.json fields, GGUF
  // <arch>.pooling_type) lives here.
  virtual const io::TensorMap& weights() const = 0;
  // The architecture as checkpoints name it ("llama", "gpt2"): the prefix of its GGUF keys.
  virtual const std::string& architecture_name() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t hidden_size() const = 0;
  virtual int64_t context_length() const = 0;

  // A State for inputs of up to max_tokens tokens (1..context_length).
  virtual std::unique_ptr<State> new_state(int64_t max_tokens) const = 0;
  // tokens (n) -> hidden (n, hidden_size), owned by `state` and valid until its next use;
  // 1 <= n <= the state's max_tokens. A token id outside the vocabulary is a loom::Error. One
  // thread of the pool or many: the result is the same.
  virtual const float* encode(State& state, ThreadPool& pool, const int32_t* tokens,
                              int64_t n) const = 0;
  // As above with a State of its own: hidden (n, hidden_size) written to `hidden`.
  void encode(ThreadPool& pool, const int32_t* tokens, int64_t n, float* hidden) const;
};

class LanguageModel : public Encoder {
 public:
  virtual const DecoderConfig& config() const = 0;
  // Bytes of weights one decode step reads (for the bandwidth bound).
  virtual size_t weight_bytes() const = 0;

  // Runs tokens (n) at the session's next positions and advances it. Writes logits for every
  // token (n, vocab) when all_logits, else for the last only (vocab), into session.logits().
  // Prompts longer than the session's chunk size are processed in chunks. A token id outside the
  // vocabulary or a position past the context is a loom::Error.
  virtual void forward(Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n,
                       bool all_logits = false) const = 0;
  // As forward, but stops at the final norm: no LM head. hidden_states() gives every row of the
  // last chunk; session.logits() is left as it was.
  virtual void forward_hidden(Session& s, ThreadPool& pool, const int32_t* tokens,
                              int64_t n) const = 0;
  // Encoder-decoders (T5, BART): encodes `source` (n tokens) once and resets s to decode from it:
  // forward() then runs the decoder from position 0 (its start token first), attending to the
  // source. Other models: a loom::Error.
  virtual void encode_source(Session& s, ThreadPool& pool, const int32_t* source, int64_t n) const;
  virtual bool encoder_decoder() const { return false; }
  // Final hidden states (after the final norm) of the last forward pass: all rows of the last
  // chunk (n, dim) after forward_hidden or all_logits, else the last row (dim).
  static const float* hidden_states(const Session& s);
};

class Model final : public LanguageModel {
 public:
  // Binds every tensor of the architecture's spec in `weights` (which keeps any mapping alive);
  // errors name the file and the tensor.
  Model(const Architecture& arch, DecoderConfig cfg, io::TensorMap weights);

  const Architecture& architecture() const { return arch_; }
  const DecoderConfig& config() const override { return cfg_; }
  const io::TensorMap& weights() const override { return weights_; }
  const std::string& architecture_name() const override { return cfg_.arch; }
  int64_t vocab_size() const override { return cfg_.vocab_size; }
  int64_t hidden_size() const override { return cfg_.dim; }
  int64_t context_length() const override { return cfg_.context_length; }
  size_t weight_bytes() const override;
  void forward(Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n,
               bool all_logits = false) const override;
  void forward_hidden(Session& s, ThreadPool& pool, const int32_t* tokens,
                      int64_t n) const override;
  // Encoding is forward_hidden on a Session of its own.
  std::unique_ptr<State> new_state(int64_t max_tokens) const override;
  const float* encode(State& state, ThreadPool& pool, const int32_t* tokens,
                      int64_t n) const override;
  using Encoder::encode;
  // One whole sequence's pooled vector (dim floats): BERT's pooler, tanh(dense(h[CLS])); a
  // loom::Error for an architecture or checkpoint without one. MLM logits of an encoder come
  // from forward(all_logits) (its head is the masked-LM head).
  std::vector<float> pooled(ThreadPool& pool, const int32_t* tokens, int64_t n) const;
  void encode_source(Session& s, ThreadPool& pool, const int32_t* source, int64_t n) const override;
  bool encoder_decoder() const override { return arch_.encoder_decoder(); }

  // Batched decode: one token for each of B distinct sessions (each at its own position, with its
  // own KV cache), run as ONE forward: the projections, the MLP and the head make one pass over
  // the weights for all B rows; attention runs per session over its own cache. Every session
  // advances by one position; logits (B, vocab) are written to `logits`. The step's activations
  // live in sessions[0]'s scratch memory; the sessions' own logits() and hidden states are left
  // as they were. Each row is bit-identical to forward() of that session alone on a pool of the
  // same size: every weight row is read once for all B inputs but dotted with each by the
  // single-row decode kernel (models/linear_rows.h). Decoder-only causal models only, and a
  // session with no room left, are a loom::Error.
  void forward_batch(Session* const* sessions, int64_t B, ThreadPool& pool, const int32_t* tokens,
                     float* logits) const;

  // A bound weight in inference layout ((out, in) matrices, f32 vectors); empty when absent.
  const TensorView& bound(Wt w) const {
    return bound_[static_cast<size_t>(w.role)][static_cast<size_t>(w.layer)];
  }

 private:
  void check_room(const Session& s, int64_t n) const;
  void forward_chunk(Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n,
                     bool all_logits, float* logits_out) const;
  void bind();
  const Architecture& arch_;
  DecoderConfig cfg_;
  io::TensorMap weights_;
  std::vector<Tensor> owned_;                   // transposed or converted copies
  std::vector<std::vector<TensorView>> bound_;  // [role][layer]
};

class Session {
 public:
  // capacity: positions the KV cache holds (0 = the model's context length); chunk: most tokens
  // per forward pass (prompt processing batches through GEMM in chunks of this size).
  explicit Session(const LanguageModel& model, int64_t capacity = 0, int64_t chunk = 512);
  int64_t position() const { return pos_; }
  int64_t capacity() const { return capacity_; }
  // Drops positions >= n (n <= position()): rewinds the cache (beam search, prompt reuse).
  void rewind(int64_t n);
  void reset() { rewind(0); }
  // Logits of the last forward: (n, vocab) or (vocab).
  const std::vector<float>& logits() const { return logits_; }
  std::vector<float>& mutable_logits() { return logits_; }
  // Copies another session's state (same model): for beam search. An encoder-decoder's source
  // memory is shared, not copied.
  void copy_from(const Session& other);
  // Encoder-decoders: whether a source has been encoded into this session.
  bool has_source() const { return memory_ != nullptr; }
  // Floats of key/value rows for n positions: every layer's keys and values.
  int64_t kv_floats(int64_t n) const;
  // Appends the key/value rows of positions [from, to) (to <= position()) to `out`, kv_floats(to
  // - from) floats, layer by layer, keys then values, key/value head by head: a prefix cache's
  // copy of a prefill.
  void read_kv(int64_t from, int64_t to, std::vector<float>& out) const;
  // Writes rows in read_kv's layout (from a session of the same model) at [from, to) (from <=
  // position(), to <= capacity()) and moves the position to `to`: the session continues as if it
  // had run those tokens, but logits() are stale until its next forward.
  void write_kv(int64_t from, int64_t to, const float* rows);

 private:
  friend class Model;
  friend class LanguageModel;
  friend class InferOps;
  const LanguageModel* model_;
  int64_t capacity_, chunk_, pos_ = 0;
  std::vector<AttentionCache> caches_;     // self-attention, per layer
  std::shared_ptr<EncoderMemory> memory_;  // encoder-decoders: the encoded source
  // Activations of the current block (rewound at each Ops::end_block, so one block's working set
  // is reused layer after layer and stays in cache), and the residual stream that crosses blocks.
  Arena arena_{size_t{4} << 20};
  std::vector<float> resid_;
  // The inference backend's activation table (pointer, rows, cols per Act), kept here so a
  // decode step reuses it instead of allocating one per forward.
  struct ActBuf {
    float* p;
    int64_t rows, cols;
  };
  std::vector<ActBuf> acts_;
  std::vector<float> logits_, hidden_;
  int64_t hidden_rows_ = 0;
};

// Loads a checkpoint (GGUF, safetensors directory/file with config.json, llama2.c .bin) and builds
// the architecture its metadata names. Unknown architectures are a loom::Error.
std::shared_ptr<const Model> load_model(const std::string& path);
std::shared_ptr<const Model> build_model(io::TensorMap weights);

}  // namespace loom::models
