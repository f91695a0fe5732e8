#include "generate/codec.h"

#include <cstdio>

#include "core/error.h"

namespace loom::generate {

std::vector<int32_t> SentencePieceCodec::encode(std::string_view text, bool add_bos) const {
  return tok_.encode_ids(text, add_bos);
}

std::string SentencePieceCodec::piece_text(int32_t prev, int32_t token) const {
  if (token < 0 || token >= tok_.vocab_size()) return "";
  const auto type = tok_.piece_type(token);
  if (type == text::SpPieceType::kControl) return "";
  const std::string &piece = tok_.id_to_piece(token);
  if (type == text::SpPieceType::kByte) {
    unsigned v = 0;
    if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%02X>", &v) == 1) {
      // As llama2.c: ASCII control bytes other than whitespace are not printed.
      if (v < 0x20 && v != '\n' && v != '\t' && v != '\r') return "";
      return std::string(1, static_cast<char>(v));
    }
  }
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) {
    if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {  // U+2581 marks a space
      out += ' ';
      i += 2;
    } else {
      out += piece[i];
    }
  }
  if (prev == tok_.bos_id() && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

text::SentencePieceTokenizer sentencepiece_from_gguf(const io::TensorMap &g) {
  const std::string model = g.meta_string("tokenizer.ggml.model");
  if (model.empty()) g.fail("no tokenizer inside (tokenizer.ggml.model missing): pass --tokenizer");
  if (model != "llama") {
    g.fail("tokenizer.ggml.model '" + model +
           "' is not supported here (only 'llama', "
           "SentencePiece); pass --tokenizer");
  }
  const io::MetaValue *tokens = g.find_meta("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->kind != io::MetaValue::Kind::Array) {
    g.fail("tokenizer.ggml.tokens: expected an array of strings");
  }
  const io::MetaValue *scores = g.find_meta("tokenizer.ggml.scores");
  const io::MetaValue *types = g.find_meta("tokenizer.ggml.token_type");
  const size_t n = tokens->array.size();
  if ((scores && scores->array.size() != n) || (types && types->array.size() != n)) {
    g.fail("tokenizer.ggml.scores/token_type: expected " + std::to_string(n) + " entries");
  }
  text::SentencePieceModelProto p;
  bool any_byte = false;
  for (size_t i = 0; i < n; ++i) {
    text::SpPiece piece;
    if (tokens->array[i].kind != io::MetaValue::Kind::String) {
      g.fail("tokenizer.ggml.tokens[" + std::to_string(i) + "]: expected a string");
    }
    piece.piece = tokens->array[i].s;
    piece.score = scores ? static_cast<float>(scores->array[i].number()) : 0.0f;
    int t = types ? static_cast<int>(types->array[i].number()) : 1;
    if (t < 1 || t > 6) t = 1;
    piece.type = static_cast<text::SpPieceType>(t);
    any_byte |= piece.type == text::SpPieceType::kByte;
    p.pieces.push_back(std::move(piece));
  }
  p.trainer_spec.model_type = text::SpModelType::kBpe;
  p.trainer_spec.vocab_size = static_cast<int32_t>(n);
  p.trainer_spec.byte_fallback = any_byte;
  p.trainer_spec.unk_id = static_cast<int32_t>(g.meta_int("tokenizer.ggml.unknown_token_id", 0));
  p.trainer_spec.bos_id = static_cast<int32_t>(g.meta_int("tokenizer.ggml.bos_token_id", 1));
  p.trainer_spec.eos_id = static_cast<int32_t>(g.meta_int("tokenizer.ggml.eos_token_id", 2));
  p.trainer_spec.pad_id = static_cast<int32_t>(g.meta_int("tokenizer.ggml.padding_token_id", -1));
  p.normalizer_spec.name = "identity";
  p.normalizer_spec.add_dummy_prefix = g.meta_bool("tokenizer.ggml.add_space_prefix", true);
  p.normalizer_spec.remove_extra_whitespaces = false;
  p.normalizer_spec.escape_whitespaces = true;
  return text::SentencePieceTokenizer::from_proto(std::move(p), g.source());
}

std::unique_ptr<TokenCodec> load_codec(const models::Model &model, const std::string &path) {
  std::unique_ptr<SentencePieceCodec> codec;
  if (!path.empty()) {
    codec = std::make_unique<SentencePieceCodec>(text::SentencePieceTokenizer::load(path));
  } else if (model.weights().format() == "gguf") {
    codec = std::make_unique<SentencePieceCodec>(sentencepiece_from_gguf(model.weights()));
  } else {
    throw Error(model.weights().source() +
                ": this model file holds no tokenizer; pass --tokenizer");
  }
  if (codec->vocab_size() != model.vocab_size()) {
    throw Error("tokenizer " + (path.empty() ? model.weights().source() : path) + " has " +
                std::to_string(codec->vocab_size()) + " tokens but the model's vocabulary has " +
                std::to_string(model.vocab_size()));
  }
  return codec;
}

}  // namespace loom::generate
