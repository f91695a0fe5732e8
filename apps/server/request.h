// OpenAI-compatible request bodies -> plain request structs, validated. Pure functions (no model,
// no sockets), so they are unit-tested and fuzzed alone (tests/fuzz/fuzz_server_request.cpp).
// Every refusal is an ApiError carrying the HTTP status and OpenAI's error fields.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "generate/json_schema.h"
#include "retrieval/filter.h"
#include "text/chat_template.h"

namespace loom::server {

// {"error": {"message", "type", "param", "code"}} with its HTTP status.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string param = "",
           std::string type = "invalid_request_error", std::string code = "")
      : std::runtime_error(message),
        status(status),
        param(std::move(param)),
        type(std::move(type)),
        code(std::move(code)) {}
  int status;
  std::string param, type, code;
};

// Bounds the server enforces on every request (set from `loom serve`'s flags).
struct RequestLimits {
  int64_t max_tokens = 512;    // the most max_tokens a request may ask for
  int64_t max_n = 16;          // choices per prompt
  int64_t max_prompts = 64;    // prompts per completion request
  int64_t max_inputs = 16384;  // inputs per embedding request
  int64_t max_logprobs = 20;   // alternatives per token (OpenAI's bound)
  int64_t max_stops = 4;       // stop strings (OpenAI's bound)
  // results per search (as `loom collection search --k`)
  int64_t max_search_k = 10000;
  int64_t max_search_ef = 10000;  // the largest index beam width a search may ask for
};

// POST /v1/completions and /v1/chat/completions.
struct CompletionRequest {
  bool chat = false;
  std::string model;                             // "" when absent
  std::vector<std::string> prompts;              // completions: text prompts ...
  std::vector<std::vector<int32_t>> prompt_ids;  // ... or token-id prompts (one of the two)
  std::vector<text::ChatMessage> messages;       // chat
  std::optional<int64_t> max_tokens;             // absent: the endpoint's default
  float temperature = 1.0f;
  float top_p = 1.0f;
  int32_t top_k = 0;
  float min_p = 0.0f;
  float presence_penalty = 0.0f, frequency_penalty = 0.0f;
  std::vector<std::string> stop;
  std::optional<uint64_t> seed;
  int64_t n = 1;
  int64_t logprobs = -1;  // -1: off; else alternatives per token (chat: top_logprobs)
  bool stream = false;
  bool echo = false;  // completions: the prompt comes back in front of the text (and logprobs)
  // response_format json_object / json_schema, enforced by constrained decoding; null: text.
  std::shared_ptr<const generate::JsonSchema> schema;
};

// POST /v1/embeddings.
struct EmbeddingRequest {
  std::string model;
  std::vector<std::string> texts;                  // string inputs ...
  std::vector<std::vector<int32_t>> token_inputs;  // ... or token-id inputs
  bool base64 = false;                             // encoding_format "base64"
  bool chunk = false;                              // extension "truncate": "chunk"
};

// POST /v1/search (a Loom extension): a query over one collection of the --db document store.
enum class SearchKind { kVector, kBm25, kHybrid };
struct SearchQuery {
  std::string collection;
  std::string query;
  int64_t k = 10;
  SearchKind mode = SearchKind::kVector;
  retrieval::Filter where;      // `loom collection search --where`'s syntax (filter.h)
  std::string model;            // "" when absent
  int64_t ef = 0;               // index beam width (vector, hybrid); 0: the index's default
  std::optional<double> rrf_k;  // hybrid fusion constant; absent: the store's default
};

CompletionRequest parse_completion_request(std::string_view body, bool chat,
                                           const RequestLimits& limits);
EmbeddingRequest parse_embedding_request(std::string_view body, const RequestLimits& limits);
SearchQuery parse_search_request(std::string_view body, const RequestLimits& limits);
const char* search_mode_name(SearchKind mode);  // "vector", "bm25" or "hybrid"

}  // namespace loom::server
