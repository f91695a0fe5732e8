// A ready embedder from a model path, for every front end (CLI, server, Python): the model, its
// tokenizer (named, or the one text::find_model_tokenizer finds, a GGUF's own vocabulary
// included), and the pooling its files ask for, with the caller's overrides on top.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "embed/embedder.h"
#include "embed/pooling.h"
#include "models/model.h"

namespace loom::embed {

struct EmbedderOptions {
  // SentencePiece .model / llama2.c .bin, tokenizer.json, vocab.txt or encoder.json; "" for the
  // model's own.
  std::string tokenizer;
  // Overrides of what the model's files say (embed::config_from_model); unset keeps theirs, and
  // with no such files the defaults: mean pooling, L2-normalised, all dims, the context length.
  std::optional<Pooling> pooling;
  std::optional<bool> normalize;
  std::optional<int64_t> dims;        // >= 0; 0 keeps every dim
  std::optional<int64_t> max_tokens;  // 0 = the model's context length
};

struct LoadedEmbedder {
  std::unique_ptr<Embedder> embedder;
  bool config_from_model = false;  // the pooling came from the model's files, not the defaults
};

// Loads model_path (any format models::load_model reads) and builds its embedder. A tokenizer
// file in Hugging Face form (*.json, vocab.txt) encodes with its own post-processor (special
// tokens as the model was trained with); SentencePiece files and a GGUF's vocabulary add BOS in
// front, as for generation. A tokenizer larger than the model's vocabulary, no tokenizer at all,
// or bad option values are a loom::Error naming the file or the option.
LoadedEmbedder load_embedder(const std::string& model_path, const EmbedderOptions& options = {});
// The same for a model already loaded (a base with an adapter applied): model_path is where its
// tokenizer and sentence-transformers files are looked for.
LoadedEmbedder load_embedder(std::shared_ptr<const models::Model> model,
                             const std::string& model_path, const EmbedderOptions& options = {});

// What load_embedder reads back from a model folder, written the sentence-transformers way:
// embed::save_config's files (1_Pooling/config.json, sentence_bert_config.json) and modules.json
// listing Transformer -> Pooling (-> Normalize when cfg.normalize).
void save_embedder_files(const std::string& dir, const EmbedConfig& cfg);

}  // namespace loom::embed
