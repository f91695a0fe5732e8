#include "embed/load.h"

#include <cctype>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "generate/codec.h"
#include "text/model_tokenizer.h"
#include "text/tokenizer.h"

namespace loom::embed {

namespace {

bool hf_tokenizer_file(std::string path) {
  for (char& c : path) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto ends = [&](const std::string& s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".json") || ends("vocab.txt");
}

// Text -> ids the way the model expects them; see load_embedder for which way is taken.
EncodeFn model_encoder(const std::string& model_path, const models::LanguageModel& model,
                       const std::string& tokenizer) {
  const std::optional<text::TokenizerLocation> found =
      tokenizer.empty() ? text::find_model_tokenizer(model_path)
                        : text::TokenizerLocation{tokenizer, false};
  const std::string tok_path = found && !found->in_gguf ? found->path : std::string();
  if (!tok_path.empty() && hf_tokenizer_file(tok_path)) {
    std::shared_ptr<const text::Tokenizer> tok = text::load_tokenizer(tok_path);
    if (tok->vocab_size() > model.vocab_size()) {
      throw Error("tokenizer " + tok_path + " has " + std::to_string(tok->vocab_size()) +
                  " tokens but the model's vocabulary has " + std::to_string(model.vocab_size()));
    }
    return [tok](std::string_view s) {
      std::vector<int32_t> ids;
      tok->encode_ids(s, true, ids);
      return ids;
    };
  }
  // The GGUF's own vocabulary, a SentencePiece file, or an error asking for a tokenizer.
  std::shared_ptr<const generate::TokenCodec> codec = generate::load_codec(model, tok_path);
  return [codec](std::string_view s) { return codec->encode(s, true); };
}

// sentence-transformers' modules.json for a Transformer -> Pooling (-> Normalize) pipeline.
std::string modules_json(bool normalize) {
  std::string s =
      "[\n  {\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
      "\"sentence_transformers.models.Transformer\"},\n  {\"idx\": 1, \"name\": \"1\", \"path\": "
      "\"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}";
  if (normalize)
    s += ",\n  {\"idx\": 2, \"name\": \"2\", \"path\": \"2_Normalize\", \"type\": "
         "\"sentence_transformers.models.Normalize\"}";
  return s + "\n]\n";
}

}  // namespace

void save_embedder_files(const std::string& dir, const EmbedConfig& cfg) {
  save_config(dir, cfg);
  write_file_atomic(dir + "/modules.json", modules_json(cfg.normalize));
}

LoadedEmbedder load_embedder(const std::string& model_path, const EmbedderOptions& options) {
  return load_embedder(models::load_model(model_path), model_path, options);
}

LoadedEmbedder load_embedder(std::shared_ptr<const models::Model> model,
                             const std::string& model_path, const EmbedderOptions& options) {
  EncodeFn encode = model_encoder(model_path, *model, options.tokenizer);
  LoadedEmbedder out;
  EmbedConfig cfg;
  if (auto c = config_from_model(model_path, *model)) {
    cfg = *c;
    out.config_from_model = true;
  }
  if (options.pooling) cfg.pooling = *options.pooling;
  if (options.normalize) cfg.normalize = *options.normalize;
  if (options.dims) {
    if (*options.dims < 0)
      throw Error("embedding dims " + std::to_string(*options.dims) + ": expected >= 0");
    cfg.dims = *options.dims;
  }
  // The model's own length (sentence_bert_config.json) unless the caller says otherwise.
  const int64_t max_tokens = options.max_tokens ? *options.max_tokens : cfg.max_tokens;
  out.embedder = std::make_unique<Embedder>(std::move(model), std::move(encode), cfg, max_tokens);
  return out;
}

}  // namespace loom::embed
