// OpenAI-shaped response bodies, built from plain result structs (no model, no sockets).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/request.h"

namespace loom::server {

// One generated token for the logprobs fields: its text (bytes as decoded; may end inside a
// UTF-8 character, then written with U+FFFD), its log-probability, and the alternatives.
struct TokenInfo {
  std::string text;
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;
  bool conditioned = true;  // false for an echoed prompt's first token: logprob and top are null
};

struct Choice {
  int64_t index = 0;
  std::string text;
  std::string finish_reason;  // "stop" or "length"
  std::optional<std::vector<TokenInfo>> logprobs;
};

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0;
};

// Identity of one response: "cmpl-..."/"chatcmpl-..." id, unix seconds, served model name.
struct ResponseMeta {
  std::string id;
  int64_t created = 0;
  std::string model;
};

// JSON text; invalid UTF-8 in generated text is written as U+FFFD, never an exception.
std::string completion_json(const ResponseMeta& meta, bool chat, const std::vector<Choice>& choices,
                            const Usage& usage);
// One server-sent event ("data: {...}\n\n") carrying `text` (chat: as the delta's content; the
// first chat chunk also carries the role), or the final chunk with finish_reason when it is set.
// logprobs (when not null): the tokens this chunk carries, in OpenAI's shape; completions count
// their text_offset from text_offset (the bytes streamed before this chunk).
std::string stream_event(const ResponseMeta& meta, bool chat, std::string_view text, bool first,
                         const std::string& finish_reason,
                         const std::vector<TokenInfo>* logprobs = nullptr, int64_t text_offset = 0);
inline constexpr std::string_view kStreamDone = "data: [DONE]\n\n";

// vectors (n, dim) row-major.
std::string embeddings_json(const std::string& model, const std::vector<float>& vectors,
                            int64_t dim, bool base64, int64_t prompt_tokens);
// The little-endian float32 bytes of `values`, base64 (RFC 4648, padded).
std::string base64_floats(const float* values, int64_t n);

// One /v1/search hit: the document id, the matching chunk's text and bytes in the document, the
// score (similarity, BM25 or RRF) and the document's metadata (a JSON object's text).
struct SearchHit {
  std::string id, text, metadata = "{}";
  double score = 0;
  int64_t begin = 0, end = 0;
};
// {"object": "list", "data": [{"object": "search_result", "id", "score", "text", "metadata",
// "chunk": [begin, end]}...], "model", "collection", "mode"}.
std::string search_json(const std::string& model, const std::string& collection,
                        const std::string& mode, const std::vector<SearchHit>& hits);

std::string models_json(const std::string& model, int64_t created);
std::string error_json(const ApiError& e);

}  // namespace loom::server
