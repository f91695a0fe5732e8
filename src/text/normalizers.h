// Normalizers found in real tokenizer.json files: BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase,
// StripAccents, Replace, Prepend, Strip, Sequence.
#pragma once

#include <memory>

#include "text/components.h"
#include "text/json_util.h"

namespace loom::text {

// Builds a normalizer from its tokenizer.json object; null JSON gives nullptr.
std::unique_ptr<Normalizer> normalizer_from_json(const JsonNode& j);

// BERT's basic cleaning (the defaults of vocab.txt tokenizers).
std::unique_ptr<Normalizer> make_bert_normalizer(bool clean_text, bool handle_chinese_chars,
                                                 std::optional<bool> strip_accents, bool lowercase);

}  // namespace loom::text

namespace loom::text {
// Reads a {"String": s} or {"Regex": r} pattern object; returns (text, is_regex).
std::pair<std::string, bool> read_pattern(const JsonNode& p);
}  // namespace loom::text
