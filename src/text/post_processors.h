// Post-processors: TemplateProcessing ("[CLS] $A [SEP]", pairs), BertProcessing,
// RobertaProcessing, ByteLevel (offset trimming only), Sequence.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "text/components.h"
#include "text/json_util.h"
#include "text/tokenizer.h"

namespace loom::text {

// Resolves a special token's string to its id (for files that give only strings).
using TokenLookup = std::function<std::optional<int32_t>(const std::string&)>;

std::unique_ptr<PostProcessor> post_processor_from_json(const JsonNode& j,
                                                        const TokenLookup& lookup);

// "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1" with the ids of the special tokens.
std::unique_ptr<PostProcessor> make_bert_template(int32_t cls_id, const std::string& cls,
                                                  int32_t sep_id, const std::string& sep);
std::unique_ptr<PostProcessor> make_byte_level_post_processor(bool trim_offsets);

}  // namespace loom::text
