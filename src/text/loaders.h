// Internal: the loaders behind load_tokenizer() (see tokenizer.h for the dispatch rules).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "text/pipeline.h"

namespace loom::text {

// bos/eos token strings from a tokenizer_config.json beside the file ("" when unknown).
struct SpecialHints {
  std::string bos, eos;
};

// Parses JSON; a syntax error names the file and the byte offset.
nlohmann::json parse_json(std::string_view text, const std::string& name);

std::unique_ptr<PipelineTokenizer> tokenizer_from_json(std::string_view text,
                                                       const std::string& name,
                                                       const SpecialHints& hints);
// GPT-2 files: encoder.json (token -> id) and vocab.bpe (ranked merges).
std::unique_ptr<PipelineTokenizer> load_gpt2_files(const std::string& encoder_path,
                                                   const std::string& merges_path);
// BERT's vocab.txt, one token per line, with BERT's defaults.
std::unique_ptr<PipelineTokenizer> load_vocab_txt(std::string_view text, const std::string& name);

}  // namespace loom::text
