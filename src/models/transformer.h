// A decoder-only transformer assembled from the shared blocks. Architecture files (llama.cpp,
// gpt2.cpp) fill a TransformerConfig and the per-layer weight views from a checkpoint's named
// tensors; everything below is common. The Model is immutable after load and may serve many
// Sessions at once; a Session holds one sequence's KV cache, position and scratch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/threads.h"
#include "io/tensor_map.h"
#include "models/attention.h"
#include "models/layers.h"

namespace loom::models {

struct TransformerConfig {
  std::string arch;  // "llama", "gpt2"
  int64_t dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, hidden_dim = 0;
  int64_t vocab_size = 0;
  int64_t context_length = 0;  // maximum positions
  NormKind norm = NormKind::RMS;
  float norm_eps = 1e-5f;
  bool pre_norm = true;  // false: post-norm (normalise after each residual add)
  FfnKind ffn = FfnKind::SwiGLU;
  bool use_rope = true;
  Rope rope;  // when use_rope
  bool learned_positions = false;
  bool tied_head = false;  // LM head shares the token embedding
  std::string describe() const;
};

struct LayerWeights {
  Norm attn_norm, ffn_norm;
  TensorView wq, wk, wv, wo;  // (h*hd, d), (kv*hd, d), (kv*hd, d), (d, h*hd)
  TensorView bq, bk, bv, bo;  // f32 biases or empty
  Ffn ffn;
};

class Session;

class Model {
 public:
  // Takes the checkpoint (which keeps any mapping alive) and the views into it (or into `owned`
  // tensors made at load: transposes, f32 copies of small vectors).
  Model(TransformerConfig cfg, io::TensorMap weights, std::vector<Tensor> owned,
        TensorView token_embd, TensorView pos_embd, std::vector<LayerWeights> layers,
        Norm final_norm, TensorView head, TensorView head_bias);

  const TransformerConfig& config() const { return cfg_; }
  const io::TensorMap& weights() const { return weights_; }  // metadata (tokenizer) lives here
  int64_t vocab_size() const { return cfg_.vocab_size; }
  int64_t context_length() const { return cfg_.context_length; }
  // Bytes of weights one decode step reads (for the bandwidth bound).
  size_t weight_bytes() const;

  // Runs tokens (n) at the session's next positions and advances it. Writes logits for every
  // token (n, vocab) when all_logits, else for the last only (vocab), into session.logits().
  // Prompts longer than the session's chunk size are processed in chunks. A token id outside the
  // vocabulary or a position past the context is a loom::Error.
  void forward(Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n,
               bool all_logits = false) const;

  // As forward, but stops at the final norm: no LM head (for embeddings, which never read the
  // logits; the head is the largest matmul of a small model). hidden_states() gives every row of
  // the last chunk; session.logits() is left as it was.
  void forward_hidden(Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n) const;

  // Final hidden states (after the final norm) of the last forward pass, for embeddings: all rows
  // of the last chunk (n, dim) after forward_hidden or all_logits, else the last row (dim). Give
  // the Session a chunk at least as long as the input to get every row.
  static const float* hidden_states(const Session& s);

 private:
  void check_room(const Session& s, int64_t n) const;
  void forward_chunk(Session& s, ThreadPool& pool, const int32_t* tokens, int64_t n,
                     bool all_logits, float* logits_out) const;
  TransformerConfig cfg_;
  io::TensorMap weights_;
  std::vector<Tensor> owned_;
  TensorView token_embd_, pos_embd_;
  std::vector<LayerWeights> layers_;
  Norm final_norm_;
  TensorView head_, head_bias_;
};

class Session {
 public:
  // capacity: positions the KV cache holds (0 = the model's context length); chunk: most tokens
  // per forward pass (prompt processing batches through GEMM in chunks of this size).
  explicit Session(const Model& model, int64_t capacity = 0, int64_t chunk = 512);
  int64_t position() const { return pos_; }
  int64_t capacity() const { return capacity_; }
  // Drops positions >= n (n <= position()): rewinds the cache (beam search, prompt reuse).
  void rewind(int64_t n);
  void reset() { rewind(0); }
  // Logits of the last forward: (n, vocab) or (vocab).
  const std::vector<float>& logits() const { return logits_; }
  std::vector<float>& mutable_logits() { return logits_; }
  // Copies another session's state (same model): for beam search.
  void copy_from(const Session& other);

 private:
  friend class Model;
  const Model* model_;
  int64_t capacity_, chunk_, pos_ = 0;
  std::vector<AttentionCache> caches_;
  std::vector<float> x_, h_, q_, k_, v_, o_, ffn_, logits_, hidden_;
  int64_t hidden_rows_ = 0;
};

// Loads a checkpoint (GGUF, safetensors directory/file with config.json, llama2.c .bin) and builds
// the architecture its metadata names. Unknown architectures are a loom::Error.
std::shared_ptr<const Model> load_model(const std::string& path);
std::shared_ptr<const Model> build_model(io::TensorMap weights);

// Architecture builders (llama.cpp, gpt2.cpp): accept GGUF names, Hugging Face names and the
// llama2.c reader's output.
std::shared_ptr<const Model> build_llama(io::TensorMap weights);
// Llama 3 rope scaling as per-pair frequency divisors (Hugging Face's llama3 rope_type).
std::vector<float> llama3_rope_factors(float theta, int64_t rot_dim, double factor,
                                       double low_freq_factor, double high_freq_factor,
                                       double original_context);
std::shared_ptr<const Model> build_gpt2(io::TensorMap weights);

}  // namespace loom::models
