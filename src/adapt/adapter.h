// `--adapter DIR`: a base model with a PEFT adapter directory (models/peft.h) applied, and the
// adapter's extended tokenizer, for `loom generate`, `loom embed` and `loom eval ppl`.
#pragma once

#include <memory>
#include <string>

#include "models/model.h"
#include "models/peft.h"
#include "text/tokenizer.h"

namespace loom::adapt {

struct AdaptedModel {
  std::shared_ptr<const models::Model> model;  // the base with the adapter merged in
  std::string tokenizer;  // DIR/tokenizer.json when the adapter has one, else ""
  int64_t base_vocab = 0, vocab = 0;
};

// Reads the base (anything models::read_hf_model reads) and the adapter, applies it (LoRA merged
// into the weights at load, W + (alpha / r)·B·A; new rows at their indices) and checks the
// adapter's tokenizer against it. Every mismatch is a loom::Error naming the file and field.
AdaptedModel load_adapted_model(const std::string& base_path, const std::string& adapter_dir);

// The tokenizer must cover the adapted vocabulary exactly, and its added (non-special) tokens
// from base_vocab on must be the adapter's new token ids: a loom::Error naming tok_path otherwise.
void check_adapter_tokenizer(const text::Tokenizer& tok, const std::string& tok_path,
                             int64_t base_vocab, int64_t vocab);

}  // namespace loom::adapt
