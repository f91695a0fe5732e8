// Vocabulary extension of a pretrained causal LM (issue #6, `loom adapt extend`): domain terms
// become ordinary (non-special) added tokens of the tokenizer, the token embedding and an untied
// LM head grow by one row per term (original rows copied bit for bit, new rows initialised by the
// chosen method; an untied head's new rows get the same method, never left random), and the
// result is a Hugging Face model directory (hf_export.h) whose config.json carries
//   "loom_extension": {"base_vocab_size": V, "added": K, "init": "...", ...}
// so training knows rows [V, V + K) are the new ones.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapt/grow.h"
#include "models/hf.h"
#include "models/model.h"
#include "text/tokenizer.h"

namespace loom::adapt {

// Reads a terms file: one term per line, or the TSV `adapt mine-terms` prints (first column; its
// header line "term\tfreq..." is skipped). A trailing "\r" is dropped; blank lines are skipped.
// Invalid UTF-8, an empty file and a duplicated term are loom::Errors naming the file and line.
std::vector<std::string> read_terms(const std::string& path);
// The same on the file's content; `name` names it in errors.
std::vector<std::string> parse_terms(std::string_view text, const std::string& name);

struct ExtendResult {
  models::HfModel model;                       // grown tensors + config.json (with loom_extension)
  std::unique_ptr<text::Tokenizer> tokenizer;  // the tokenizer with the terms added
  int64_t base_vocab = 0, added = 0;
  std::vector<std::vector<int32_t>> subtokens;  // each term's original tokenisation
  std::string embed_sha256;                     // rows [0, base_vocab) of the embedding
  std::string head_sha256;                      // of an untied head ("" when tied)
  // tokenizer.json + tokenizer_config.json for the directory.
  std::string tokenizer_json, tokenizer_config_json;
};

// Checks every term before changing anything (empty or whitespace-only terms, duplicates,
// invalid UTF-8, terms that already are one token of the vocabulary or an added token: each a
// loom::Error naming `terms_name` and the term), adds them to `tok` (which must match the model's
// vocabulary size) and grows the model. Zero terms are allowed here (the result equals the base
// model in HF form); the CLI refuses an empty terms file.
ExtendResult extend_model(const models::Model& model, std::unique_ptr<text::Tokenizer> tok,
                          const std::vector<std::string>& terms, const GrowOptions& grow,
                          const std::string& terms_name = "terms");

// The extended model ready to run, built in memory from r.model (nothing written): what
// save_extended's directory loads as.
std::shared_ptr<const models::Model> extended_model(const ExtendResult& r);

// Writes the directory atomically (model.safetensors, config.json, tokenizer.json,
// tokenizer_config.json); see models::save_hf_directory.
void save_extended(const std::string& dir, const ExtendResult& r);

}  // namespace loom::adapt
