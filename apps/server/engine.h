// What the server runs per request on the one loaded model: completions (text or chat) through
// generate::Generator and embeddings through embed::Embedder. The model, codec, embedder and chat
// template are const after construction and shared by every request; each call builds its own
// Session / Encoder state and one-thread pool, so calls from many threads at once are safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "embed/embedder.h"
#include "generate/generator.h"
#include "generate/json_constraint.h"
#include "models/model.h"
#include "server/request.h"
#include "server/response.h"
#include "text/chat_template.h"

namespace loom::server {

struct EngineOptions {
  std::string model_path;         // for messages and to find tokenizer_config.json beside it
  std::string tokenizer;          // "" = the model's own
  std::string chat_config;        // tokenizer_config.json holding chat_template; "" = look beside
  std::string name;               // the id /v1/models reports ("" = the model file's name)
  int64_t embed_max_tokens = -1;  // embedding window; -1: the model's files', 0: the context
};

// A completion request with its prompts encoded and limits resolved (the 400s are all raised
// here, before a stream starts).
struct PreparedCompletion {
  CompletionRequest request;
  std::vector<std::vector<int32_t>> prompts;  // token ids, BOS included where the codec adds it
  int64_t max_tokens = 16;
};

struct CompletionOutput {
  std::vector<Choice> choices;
  Usage usage;
  double decode_seconds = 0;
};

struct EmbeddingOutput {
  std::vector<float> vectors;  // (n, dim)
  int64_t dim = 0;
  int64_t tokens = 0;
};

class Engine {
 public:
  Engine(std::shared_ptr<const models::Model> model, const EngineOptions& options);
  ~Engine();

  const std::string& name() const { return name_; }
  const models::Model& model() const { return *model_; }
  bool has_chat_template() const { return chat_.has_value(); }
  const embed::Embedder& embedder() const { return *embedder_; }

  // default_max_tokens applies when the request names none (OpenAI: 16 for completions; chat:
  // up to the context).
  PreparedCompletion prepare(const CompletionRequest& request, int64_t default_max_tokens) const;
  // Streaming (one choice): on_text receives text pieces as the generator releases them, and
  // on_token (with logprobs) each token before its text; an echoed prompt comes first.
  CompletionOutput run(const PreparedCompletion& prepared,
                       const std::function<void(std::string_view)>& on_text = {},
                       const std::function<void(const TokenInfo&)>& on_token = {}) const;
  EmbeddingOutput embed(const EmbeddingRequest& request) const;

 private:
  std::vector<int32_t> chat_prompt(const std::vector<text::ChatMessage>& messages) const;
  struct Run;
  Choice run_one(Run& run, size_t prompt, int64_t j) const;
  TokenInfo token_info(int32_t prev, int32_t token, const generate::TokenLogprobs* lp) const;
  // The echoed prompt: its text, and with logprobs its tokens (the first unconditioned).
  Choice echo(Run& run, size_t prompt) const;

  std::shared_ptr<const models::Model> model_;
  std::unique_ptr<generate::TokenCodec> codec_;
  std::unique_ptr<generate::TokenTexts> token_texts_;  // for response_format's constraint
  std::unique_ptr<embed::Embedder> embedder_;
  std::optional<text::ChatTemplate> chat_;
  text::ChatTokens chat_tokens_;
  std::string no_chat_reason_;  // why chat_ is empty
  std::string name_;
};

}  // namespace loom::server
