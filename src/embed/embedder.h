// Embeddings from any Loom encoder (a decoder-only LanguageModel through its final hidden states,
// or an encoder-only model): tokenize, run the encoder, pool its hidden states, truncate
// (Matryoshka) and normalise, many texts at once on a thread pool.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/threads.h"
#include "embed/pooling.h"

// Declared, not included: users of an Embedder (retrieval) need not see models' headers.
namespace loom::models {
class Encoder;
}

namespace loom::embed {

// Text -> token ids as the model expects them (special tokens such as BOS included). Called from
// several threads at once, so it must not mutate shared state.
using EncodeFn = std::function<std::vector<int32_t>(std::string_view)>;

struct EmbedStats {
  int64_t texts = 0;
  int64_t tokens = 0;     // tokens run through the model (after truncation)
  int64_t truncated = 0;  // texts longer than max_tokens, cut to their first max_tokens tokens
  int64_t empty = 0;      // texts that gave no token at all; their vector is all zeros
};

class Embedder {
 public:
  // max_tokens: tokens kept per text (0 = the model's context length; larger is an error).
  Embedder(std::shared_ptr<const models::Encoder> model, EncodeFn encode, EmbedConfig config,
           int64_t max_tokens = 0);

  const EmbedConfig& config() const { return config_; }
  int64_t max_tokens() const { return max_tokens_; }
  int64_t model_dim() const;
  int64_t dim() const;  // output size: config().dims when it truncates, else the model's dim

  // texts (n) -> out (n, dim()) row-major. Texts are shared out over the pool's threads, each
  // with its own Encoder::State and a one-thread model pass, so every row is the same whatever the
  // thread count. progress(done) is called (serialised) as texts finish.
  EmbedStats embed(std::span<const std::string> texts, ThreadPool& pool, float* out,
                   const std::function<void(int64_t)>& progress = {}) const;
  std::vector<float> embed(std::span<const std::string> texts, ThreadPool& pool,
                           EmbedStats* stats = nullptr) const;

  // Token ids one text is embedded from (encoded, then truncated to max_tokens).
  std::vector<int32_t> tokens(std::string_view text, bool* truncated = nullptr) const;
  // All of a text's token ids (special tokens included), not truncated.
  std::vector<int32_t> encode(std::string_view text) const { return encode_(text); }

  // Token-id inputs (n) -> out (n, dim()), never truncated. An input longer than max_tokens() is
  // a loom::Error naming its index unless `chunk`: then it is cut into windows of max_tokens()
  // tokens, each window pooled on its own, and the pooled vectors averaged weighted by their
  // token counts before normalisation (for mean pooling: every token weighs the same). An empty
  // input gives a zero row. Threads as for embed().
  EmbedStats embed_tokens(std::span<const std::vector<int32_t>> inputs, ThreadPool& pool,
                          float* out, bool chunk) const;

 private:
  std::shared_ptr<const models::Encoder> model_;
  EncodeFn encode_;
  EmbedConfig config_;
  int64_t max_tokens_;
};

// The pooling a model's files ask for, when they say:
//  - sentence-transformers layout in the model's folder (the folder itself, or the one holding
//    the model file): 1_Pooling/config.json (pooling_mode_*; Loom's "normalize"/"truncate_dim"
//    keys), with normalisation on when modules.json lists a Normalize module (or the config's
//    own "normalize" key says so), and max_tokens from sentence_bert_config.json's
//    max_seq_length when that file is there;
//  - GGUF metadata: <arch>.pooling_type as llama.cpp writes it (1 mean, 2 cls, 3 last).
// std::nullopt when neither is present. Malformed files are a loom::Error naming them.
std::optional<EmbedConfig> config_from_model(const std::string& model_path,
                                             const models::Encoder& model);

// Stores cfg the way config_from_model reads it: DIR/1_Pooling/config.json (folders created,
// written atomically), with Loom's "normalize" and "truncate_dim" keys, and, when
// cfg.max_tokens > 0, DIR/sentence_bert_config.json with its max_seq_length.
void save_config(const std::string& dir, const EmbedConfig& cfg);

}  // namespace loom::embed
