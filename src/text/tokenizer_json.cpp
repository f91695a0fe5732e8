// Hugging Face tokenizer.json -> PipelineTokenizer.
#include <algorithm>

#include "core/error.h"
#include "text/bpe_model.h"
#include "text/decoders.h"
#include "text/json_util.h"
#include "text/loaders.h"
#include "text/normalizers.h"
#include "text/pipeline.h"
#include "text/post_processors.h"
#include "text/pre_tokenizers.h"
#include "text/unigram_model.h"
#include "text/wordpiece_model.h"

namespace loom::text {

namespace {

constexpr int64_t kMaxVocab = int64_t(1) << 24;

// {"token": id, ...} -> vocab[id] = token.
std::vector<std::string> read_vocab(const JsonNode& v) {
  if (!v.is_object()) v.fail("an object mapping tokens to ids");
  std::vector<std::string> vocab;
  // Ids are dense in real files; a bound keeps a hostile file from allocating gigabytes.
  int64_t limit = std::min<int64_t>(kMaxVocab, int64_t(v.raw().size()) + 65536);
  for (const auto& [token, id_json] : v.raw().items()) {
    JsonNode idn(id_json, v.file(), v.path() + "/" + token);
    int64_t id = idn.integer(0, limit - 1);
    if (size_t(id) >= vocab.size()) vocab.resize(id + 1);
    if (!vocab[id].empty())
      idn.fail("an id not used by another token (\"" + vocab[id] + "\" has it)");
    vocab[id] = token;
  }
  return vocab;
}

std::vector<std::pair<std::string, std::string>> read_merges(const JsonNode& m) {
  std::vector<std::pair<std::string, std::string>> merges;
  size_t n = m.size();
  merges.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    JsonNode e = m.index(i);
    if (e.is_string()) {
      const std::string& s = e.str_ref();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
        e.fail("a merge \"left right\" with exactly one space");
      }
      merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (e.is_array()) {
      if (e.size() != 2) e.fail("a merge [left, right]");
      merges.emplace_back(e.index(0).str(), e.index(1).str());
    } else {
      e.fail("a merge as \"left right\" or [left, right]");
    }
  }
  return merges;
}

std::unique_ptr<Model> model_from_json(const JsonNode& m) {
  std::string type;
  if (auto t = m.find("type")) {
    type = t->str();
  } else if (m.has("merges")) {
    type = "BPE";
  } else if (m.has("vocab") && m.at("vocab").is_object()) {
    type = "WordPiece";
  }
  if (type == "BPE") {
    if (auto d = m.find("dropout")) {
      if (d->number() != 0.0)
        d->fail("null (BPE dropout is random; Loom encodes deterministically)");
    }
    BpeOptions o;
    if (auto u = m.find("unk_token")) o.unk_token = u->str();
    o.continuing_subword_prefix = m.str_or("continuing_subword_prefix", "");
    o.end_of_word_suffix = m.str_or("end_of_word_suffix", "");
    o.fuse_unk = m.bool_or("fuse_unk", false);
    o.byte_fallback = m.bool_or("byte_fallback", false);
    o.ignore_merges = m.bool_or("ignore_merges", false);
    return std::make_unique<BpeModel>(read_vocab(m.at("vocab")), read_merges(m.at("merges")),
                                      std::move(o), m.file());
  }
  if (type == "WordPiece") {
    return std::make_unique<WordPieceModel>(
        read_vocab(m.at("vocab")), m.str_or("unk_token", "[UNK]"),
        m.str_or("continuing_subword_prefix", "##"), int(m.int_or("max_input_chars_per_word", 100)),
        m.file());
  }
  if (type == "Unigram") {
    JsonNode v = m.at("vocab");
    if (!v.is_array()) v.fail("an array of [piece, score] pairs");
    if (v.size() > size_t(kMaxVocab)) v.fail("at most " + std::to_string(kMaxVocab) + " pieces");
    std::vector<std::pair<std::string, double>> vocab;
    vocab.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      JsonNode e = v.index(i);
      if (!e.is_array() || e.size() != 2) e.fail("a [piece, score] pair");
      vocab.emplace_back(e.index(0).str(), e.index(1).number());
    }
    int32_t unk_id = -1;
    if (auto u = m.find("unk_id")) unk_id = int32_t(u->integer(0, kMaxVocab - 1));
    return std::make_unique<UnigramModel>(std::move(vocab), unk_id,
                                          m.bool_or("byte_fallback", false), m.file());
  }
  // Dispatch point: WordLevel models plug in here.
  if (m.has("type")) {
    m.at("type").fail("a supported model type (BPE, WordPiece, Unigram)");
  }
  m.fail("a model object with \"type\"");
}

std::vector<AddedToken> read_added_tokens(const JsonNode& arr) {
  std::vector<AddedToken> out;
  for (size_t i = 0; i < arr.size(); ++i) {
    JsonNode a = arr.index(i);
    AddedToken t;
    t.id = int32_t(a.at("id").integer(0, kMaxVocab - 1));
    t.content = a.at("content").str();
    if (t.content.empty()) a.at("content").fail("a non-empty string");
    t.special = a.bool_or("special", false);
    t.normalized = a.bool_or("normalized", !t.special);
    t.lstrip = a.bool_or("lstrip", false);
    t.rstrip = a.bool_or("rstrip", false);
    t.single_word = a.bool_or("single_word", false);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& name) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    auto p = what.find("parse error");
    throw Error(name + ": byte " + std::to_string(e.byte > 0 ? e.byte - 1 : 0) +
                ": invalid JSON (" + (p == std::string::npos ? what : what.substr(p)) + ")");
  } catch (const nlohmann::json::exception& e) {
    // Not a syntax error but a value the parser cannot hold, e.g. a number out of range.
    throw Error(name + ": invalid JSON value (" + std::string(e.what()) + ")");
  }
}

std::unique_ptr<PipelineTokenizer> tokenizer_from_json(std::string_view text,
                                                       const std::string& name,
                                                       const SpecialHints& hints) {
  nlohmann::json root = parse_json(text, name);
  JsonNode r(root, name);
  if (!r.is_object()) r.fail("a tokenizer.json object");
  PipelineParts parts;
  parts.name = name;
  parts.kind = "tokenizer.json";
  parts.model = model_from_json(r.at("model"));
  parts.kind += " (" + parts.model->type() + ")";
  if (auto a = r.find("added_tokens")) parts.added_tokens = read_added_tokens(*a);
  if (auto n = r.find("normalizer")) parts.normalizer = normalizer_from_json(*n);
  if (auto p = r.find("pre_tokenizer")) parts.pre_tokenizer = pre_tokenizer_from_json(*p);
  TokenLookup lookup = [&](const std::string& s) -> std::optional<int32_t> {
    for (const auto& t : parts.added_tokens)
      if (t.content == s) return t.id;
    return parts.model->token_to_id(s);
  };
  if (auto p = r.find("post_processor"))
    parts.post_processor = post_processor_from_json(*p, lookup);
  if (auto d = r.find("decoder")) parts.decoder = decoder_from_json(*d);
  if (auto t = r.find("truncation")) parts.truncation = truncation_from_json(*t);
  if (auto p = r.find("padding")) parts.padding = padding_from_json(*p);
  if (!hints.bos.empty()) parts.bos_id = lookup(hints.bos).value_or(-1);
  if (!hints.eos.empty()) parts.eos_id = lookup(hints.eos).value_or(-1);
  return std::make_unique<PipelineTokenizer>(std::move(parts));
}

std::unique_ptr<Tokenizer> load_tokenizer_json(std::string_view json, const std::string& name) {
  return tokenizer_from_json(json, name, {});
}

}  // namespace loom::text
