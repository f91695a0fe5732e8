// Pre-tokenizers found in real tokenizer.json files: ByteLevel, Split (the file's regex or
// string, five behaviours, invert), Sequence, Whitespace, WhitespaceSplit, BertPreTokenizer,
// Punctuation, Digits, Metaspace, CharDelimiterSplit.
#pragma once

#include <memory>

#include "text/components.h"
#include "text/json_util.h"

namespace loom::text {

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

std::unique_ptr<PreTokenizer> pre_tokenizer_from_json(const JsonNode& j);

// GPT-2's split pattern: the default of a ByteLevel pre-tokenizer with use_regex.
extern const char* const kGpt2Pattern;

std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space,
                                                            bool trim_offsets, bool use_regex);
std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();

}  // namespace loom::text
