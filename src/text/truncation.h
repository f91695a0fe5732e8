// tokenizer.json "truncation" and "padding", with Hugging Face's semantics:
//   truncation happens before the post-processor, on the model's tokens, leaving room for the
//   special tokens it will add; padding happens after it, to the longest encoding of the batch
//   (BatchLongest) or to a fixed length, rounded up to pad_to_multiple_of.
// Loom keeps no overflowing windows: stride is validated and saved but produces nothing else.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "text/json_util.h"

namespace loom::text {

struct Encoding;

enum class Side { kRight, kLeft };
enum class TruncationStrategy { kLongestFirst, kOnlyFirst, kOnlySecond };

struct TruncationParams {
  int64_t max_length = 512;  // tokens, special tokens included
  int64_t stride = 0;
  TruncationStrategy strategy = TruncationStrategy::kLongestFirst;
  Side direction = Side::kRight;  // kRight keeps the start, kLeft the end
};

struct PaddingParams {
  std::optional<int64_t> fixed;  // Fixed(n); empty: BatchLongest
  Side direction = Side::kRight;
  std::optional<int64_t> pad_to_multiple_of;
  int32_t pad_id = 0;
  int32_t pad_type_id = 0;
  std::string pad_token = "[PAD]";
};

// Parse / write the tokenizer.json objects (null -> nullopt). Errors name the file and field.
std::optional<TruncationParams> truncation_from_json(const JsonNode& j);
std::optional<PaddingParams> padding_from_json(const JsonNode& j);
nlohmann::ordered_json truncation_to_json(const std::optional<TruncationParams>& t);
nlohmann::ordered_json padding_to_json(const std::optional<PaddingParams>& p);

// Truncates a (and b, for a pair) so that together they hold at most max_length - n_added
// tokens (clamped at 0). Throws loom::Error when only_first/only_second cannot remove enough, when
// only_second has no second sequence, or when stride is not below the length kept.
void truncate_encodings(Encoding& a, Encoding* b, const TruncationParams& p, int64_t n_added);

// Pads every encoding to the target length (see above); sets attention_mask on all of them.
void pad_encodings(std::span<Encoding> encs, const PaddingParams& p);

}  // namespace loom::text
