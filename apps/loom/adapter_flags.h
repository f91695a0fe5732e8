// `--model BASE [--adapter DIR]` for the commands that run a model (generate, embed, eval ppl,
// eval retrieval): the base alone, or with a PEFT adapter directory applied (adapt/adapter.h).
#pragma once

#include <memory>
#include <string>

#include "cli.h"
#include "models/model.h"

namespace loom::cli {

Flag adapter_flag();

struct ModelWithTokenizer {
  std::shared_ptr<const models::Model> model;
  std::string tokenizer;  // --tokenizer, else the adapter's tokenizer.json, else ""
};

// Loads --model, with --adapter applied when given (printing one line about it on stderr).
ModelWithTokenizer load_model_flags(const Args& args);

}  // namespace loom::cli
