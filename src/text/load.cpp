// load_tokenizer(): detects the file kind and calls the matching loader.
#include <sys/stat.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "text/bpe_model.h"
#include "text/decoders.h"
#include "text/json_util.h"
#include "text/loaders.h"
#include "text/sentencepiece_adapter.h"
#include "text/normalizers.h"
#include "text/post_processors.h"
#include "text/pre_tokenizers.h"
#include "text/wordpiece_model.h"

namespace loom::text {

namespace {

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

std::string dir_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "." : p.substr(0, s);
}

std::string base_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// tokenizer_config.json's bos_token / eos_token: a string or {"content": ...}.
SpecialHints read_hints(const std::string& dir) {
  SpecialHints h;
  std::string path = dir + "/tokenizer_config.json";
  if (!exists(path)) return h;
  nlohmann::json j = parse_json(read_file(path), path);
  auto get = [&](const char* key) -> std::string {
    if (!j.is_object() || !j.contains(key)) return "";
    const auto& v = j[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) {
      return v["content"].get<std::string>();
    }
    return "";
  };
  h.bos = get("bos_token");
  h.eos = get("eos_token");
  return h;
}

// Dispatch point for the SentencePiece family (.model protobuf, llama2.c tok .bin): their
// loaders register here. Until then these kinds are refused rather than guessed.
std::unique_ptr<Tokenizer> load_sentencepiece_family(const std::string& path) {
  return load_sentencepiece_tokenizer(path);
}

}  // namespace

std::unique_ptr<PipelineTokenizer> load_gpt2_files(const std::string& encoder_path,
                                                   const std::string& merges_path) {
  nlohmann::json enc = parse_json(read_file(encoder_path), encoder_path);
  JsonNode root(enc, encoder_path);
  if (!root.is_object()) root.fail("an object mapping tokens to ids");
  std::vector<std::string> vocab;
  for (const auto& [token, id_json] : enc.items()) {
    JsonNode idn(id_json, encoder_path, "/" + token);
    int64_t id = idn.integer(0, (int64_t(1) << 24) - 1);
    if (size_t(id) >= vocab.size()) vocab.resize(id + 1);
    vocab[id] = token;
  }
  std::string text = read_file(merges_path);
  std::vector<std::pair<std::string, std::string>> merges;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    size_t line_start = pos;
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == line.size() ||
        line.find(' ', sp + 1) != std::string::npos) {
      throw Error(merges_path + ": line " + std::to_string(line_no) + " (byte " +
                  std::to_string(line_start) + "): expected a merge \"left right\"");
    }
    merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  PipelineParts parts;
  parts.name = encoder_path;
  parts.kind = "encoder.json + vocab.bpe (BPE)";
  parts.model =
      std::make_unique<BpeModel>(std::move(vocab), std::move(merges), BpeOptions{}, merges_path);
  parts.pre_tokenizer = make_byte_level_pre_tokenizer(false, true, true);
  parts.post_processor = make_byte_level_post_processor(false);  // as HF's gpt2 tokenizer.json
  parts.decoder = make_byte_level_decoder();
  if (auto id = parts.model->token_to_id("<|endoftext|>")) {
    AddedToken t;
    t.content = "<|endoftext|>";
    t.id = *id;
    t.special = true;
    t.normalized = true;  // as in Hugging Face's gpt2 tokenizer.json
    parts.added_tokens.push_back(t);
    parts.bos_id = parts.eos_id = *id;
  }
  return std::make_unique<PipelineTokenizer>(std::move(parts));
}

std::unique_ptr<PipelineTokenizer> load_vocab_txt(std::string_view text, const std::string& name) {
  std::vector<std::string> vocab;
  size_t pos = 0;
  bool has_upper = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    vocab.emplace_back(line);
    if (!(line.size() > 2 && line.front() == '[' && line.back() == ']')) {
      for (char c : line) has_upper |= c >= 'A' && c <= 'Z';
    }
  }
  if (vocab.empty())
    throw Error(name + ": byte 0: expected one WordPiece token per line, got an empty file");
  auto find = [&](const char* t) -> int32_t {
    for (size_t i = 0; i < vocab.size(); ++i)
      if (vocab[i] == t) return int32_t(i);
    return -1;
  };
  if (find("[UNK]") < 0) {
    throw Error(name + ": expected a line \"[UNK]\" (BERT's unknown token) in the vocabulary");
  }
  PipelineParts parts;
  parts.name = name;
  parts.kind = "vocab.txt (WordPiece)";
  // BERT defaults; an uncased vocabulary (no uppercase ASCII outside [SPECIAL] tokens) lowercases.
  parts.normalizer = make_bert_normalizer(true, true, std::nullopt, !has_upper);
  parts.pre_tokenizer = make_bert_pre_tokenizer();
  for (const char* s : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    int32_t id = find(s);
    if (id < 0) continue;
    AddedToken t;
    t.content = s;
    t.id = id;
    t.special = true;
    t.normalized = false;
    parts.added_tokens.push_back(t);
  }
  int32_t cls = find("[CLS]"), sep = find("[SEP]");
  if (cls >= 0 && sep >= 0) parts.post_processor = make_bert_template(cls, "[CLS]", sep, "[SEP]");
  parts.decoder = make_wordpiece_decoder("##", true);
  parts.model = std::make_unique<WordPieceModel>(std::move(vocab), "[UNK]", "##", 100, name);
  return std::make_unique<PipelineTokenizer>(std::move(parts));
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  if (!exists(path)) throw Error(path + ": no such file");
  std::string base = base_of(path), dir = dir_of(path);
  if (ends_with(base, ".model") || ends_with(base, ".bin")) return load_sentencepiece_family(path);
  if (ends_with(base, ".txt")) return load_vocab_txt(read_file(path), path);
  if (base == "encoder.json" || base == "vocab.json") {
    std::string merges = dir + (base == "encoder.json" ? "/vocab.bpe" : "/merges.txt");
    if (!exists(merges)) {
      throw Error(path + ": expected the merges file " + merges + " beside it (GPT-2 BPE)");
    }
    return load_gpt2_files(path, merges);
  }
  std::string text = read_file(path);
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '{') {
    throw Error(
        path + ": byte " + std::to_string(first == std::string::npos ? 0 : first) +
        ": expected a tokenizer file (tokenizer.json, encoder.json + vocab.bpe, vocab.txt)");
  }
  return tokenizer_from_json(text, path, read_hints(dir));
}

}  // namespace loom::text
