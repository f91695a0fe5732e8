#include "generate/codec.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "text/model_tokenizer.h"
#include "text/sentencepiece_convert.h"
#include "text/unicode.h"

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

text::SentencePieceModelProto sentencepiece_proto_from_gguf(const io::TensorMap &g) {
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
  return p;
}

text::SentencePieceTokenizer sentencepiece_from_gguf(const io::TensorMap &g) {
  return text::SentencePieceTokenizer::from_proto(sentencepiece_proto_from_gguf(g), g.source());
}

namespace {

bool ends_with(const std::string &s, const char *suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// GPT-2's byte alphabet: printable bytes stand for themselves, the others for U+0100 + n.
std::vector<int> gpt2_char_to_byte() {
  std::vector<int> inv(512, -1);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    int cp = printable ? b : 256 + n++;
    inv[static_cast<size_t>(cp)] = b;
  }
  return inv;
}

// A byte-level BPE piece's bytes: each character of GPT-2's alphabet (inv) back to its byte.
std::string byte_level_bytes(const std::string &piece, const std::vector<int> &inv) {
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    text::Utf8Char c = text::utf8_next(piece, i);
    if (c.valid && c.cp < inv.size() && inv[c.cp] >= 0) {
      out += static_cast<char>(inv[c.cp]);
    } else {
      out.append(piece, i, c.len);
    }
    i += c.len;
  }
  return out;
}

// A SentencePiece-style piece's bytes: "<0xXX>" is that byte, U+2581 a space.
std::string sentencepiece_bytes(const std::string &piece) {
  unsigned v = 0;
  if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>' &&
      std::sscanf(piece.c_str(), "<0x%02X>", &v) == 1) {
    return std::string(1, static_cast<char>(v));
  }
  std::string out;
  for (size_t i = 0; i < piece.size(); ++i) {
    if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {
      out += ' ';
      i += 2;
    } else {
      out += piece[i];
    }
  }
  return out;
}

}  // namespace

TokenizerCodec::TokenizerCodec(std::unique_ptr<text::Tokenizer> tok) : tok_(std::move(tok)) {
  const text::TokenizerInfo info = tok_->info();
  const bool byte_level = info.decoder.find("ByteLevel") != std::string::npos ||
                          info.pre_tokenizer.find("ByteLevel") != std::string::npos;
  {
    text::Encoding e = tok_->encode("a", false);
    std::vector<std::string> p = tok_->pieces(e);
    dummy_prefix_ = !p.empty() && p[0].rfind("\xE2\x96\x81", 0) == 0;
  }
  const std::vector<int> inv = gpt2_char_to_byte();
  const int32_t n = tok_->vocab_size();
  bytes_.resize(static_cast<size_t>(n));
  const std::vector<bool> added = added_token_bytes();
  for (int32_t id = 0; id < n; ++id) {
    if (added[static_cast<size_t>(id)]) continue;
    const std::string piece = tok_->id_to_token(id);
    bytes_[static_cast<size_t>(id)] =
        byte_level ? byte_level_bytes(piece, inv) : sentencepiece_bytes(piece);
  }
}

std::vector<bool> TokenizerCodec::added_token_bytes() {
  const int32_t n = tok_->vocab_size();
  std::vector<bool> added(static_cast<size_t>(n), false);
  for (const text::AddedToken &a : tok_->added_tokens()) {
    if (a.id < 0 || a.id >= n) continue;
    added[static_cast<size_t>(a.id)] = true;
    if (a.special) continue;  // printed as nothing
    std::string s = a.content;
    // Does the match swallow a space in front of it (a normaliser that writes spaces as U+2581)?
    std::vector<int32_t> glued, spaced;
    tok_->encode_ids("a" + a.content, false, glued);
    tok_->encode_ids("a " + a.content, false, spaced);
    auto has = [&](const std::vector<int32_t> &v) {
      return std::find(v.begin(), v.end(), a.id) != v.end();
    };
    if (!has(glued) && has(spaced) && (spaced.size() == 2 && dummy_prefix_)) s = " " + s;
    bytes_[static_cast<size_t>(a.id)] = s;
  }
  return added;
}

std::vector<int32_t> TokenizerCodec::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> ids;
  tok_->encode_ids(text, false, ids);
  if (add_bos && tok_->bos_id() >= 0) ids.insert(ids.begin(), tok_->bos_id());
  return ids;
}

std::string TokenizerCodec::piece_text(int32_t prev, int32_t token) const {
  if (token < 0 || token >= static_cast<int32_t>(bytes_.size())) return "";
  const std::string &s = bytes_[static_cast<size_t>(token)];
  if (dummy_prefix_ && prev == tok_->bos_id() && !s.empty() && s[0] == ' ') return s.substr(1);
  return s;
}

std::string Utf8Stream::push(std::string_view bytes) {
  pending_.append(bytes);
  // Find the start of a trailing incomplete (but so far valid) sequence.
  size_t keep = pending_.size();
  const size_t n = pending_.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const unsigned char c = static_cast<unsigned char>(pending_[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    int need = c >= 0xF0 && c < 0xF5   ? 4
               : c >= 0xE0 && c < 0xF0 ? 3
               : c >= 0xC2 && c < 0xE0 ? 2
                                       : 1;
    if (need > static_cast<int>(back)) keep = n - back;
    break;
  }
  std::string out = pending_.substr(0, keep);
  pending_.erase(0, keep);
  return out;
}

std::string Utf8Stream::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

std::unique_ptr<TokenCodec> load_codec(const models::LanguageModel &model,
                                       const std::string &path) {
  const text::TokenizerLocation loc = text::model_tokenizer(model.weights().source(), path);
  std::unique_ptr<TokenCodec> codec;
  if (loc.in_gguf) {
    codec = std::make_unique<SentencePieceCodec>(sentencepiece_from_gguf(model.weights()));
  } else if (ends_with(loc.path, ".model") || ends_with(loc.path, ".bin")) {
    codec = std::make_unique<SentencePieceCodec>(text::SentencePieceTokenizer::load(loc.path));
  } else {
    codec = std::make_unique<TokenizerCodec>(text::load_tokenizer(loc.path));
  }
  if (codec->vocab_size() != model.vocab_size()) {
    throw Error("tokenizer " + loc.path + " has " + std::to_string(codec->vocab_size()) +
                " tokens but the model's vocabulary has " + std::to_string(model.vocab_size()));
  }
  return codec;
}

std::unique_ptr<text::Tokenizer> tokenizer_for_model(const std::string &model_path,
                                                     const std::string &tokenizer_path) {
  const text::TokenizerLocation loc = text::model_tokenizer(model_path, tokenizer_path);
  if (!loc.in_gguf) return text::load_tokenizer(loc.path);
  return text::sentencepiece_to_pipeline(sentencepiece_proto_from_gguf(io::read_gguf(loc.path)),
                                         loc.path);
}

}  // namespace loom::generate
