#include "generate/convert.h"

#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/mapped_file.h"
#include "generate/codec.h"
#include "models/gguf_out.h"
#include "models/hf.h"
#include "text/model_tokenizer.h"
#include "text/sentencepiece.h"
#include "text/sentencepiece_convert.h"

namespace loom::generate {

namespace {

// GGUF value type codes of the arrays llama.cpp writes.
constexpr uint32_t kGgufI32 = io::gguf::kI32, kGgufF32 = io::gguf::kF32,
                   kGgufString = io::gguf::kString;

bool is_file(const std::string& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

// Hugging Face tokenizer files copied from beside the source into an HF export.
constexpr const char* kHfTokenizerFiles[] = {"tokenizer.json",
                                             "tokenizer.model",
                                             "tokenizer_config.json",
                                             "special_tokens_map.json",
                                             "added_tokens.json",
                                             "vocab.json",
                                             "merges.txt",
                                             "vocab.txt",
                                             "generation_config.json"};

// The source's tokenizer: a SentencePiece model (which both formats can hold) or another
// tokenizer file (tokenizer.json: copied into a Hugging Face folder only).
struct SourceTokenizer {
  std::string from;  // where it was found; "" none
  std::optional<text::SentencePieceModelProto> sp;
  std::string other_path;
};

// --tokenizer, else a GGUF source's own vocabulary, else tokenizer.model / tokenizer.json beside
// the model (SentencePiece first: GGUF can hold it).
SourceTokenizer find_source_tokenizer(const ConvertOptions& o, const models::HfModel& hf) {
  SourceTokenizer t;
  std::string path = o.tokenizer;
  if (path.empty() && !hf.gguf_tokenizer.empty()) {
    io::TensorMap g(hf.source, "gguf");
    for (const auto& [key, value] : hf.gguf_tokenizer) g.set_meta(key, value);
    t.from = hf.source + " (its own vocabulary)";
    if (g.meta_string("tokenizer.ggml.model") == "llama") t.sp = sentencepiece_proto_from_gguf(g);
    return t;
  }
  const std::string folder = text::model_folder(o.model);
  for (const char* name : {"tokenizer.model", "tokenizer.json"})
    if (path.empty() && is_file(folder + "/" + name)) path = folder + "/" + name;
  if (path.empty()) return t;
  t.from = path;
  if (path.ends_with(".model") || path.ends_with(".bin"))
    t.sp = text::SentencePieceTokenizer::load(path).proto();
  else
    t.other_path = path;
  return t;
}

void check_vocab(const SourceTokenizer& t, const models::HfModel& hf) {
  const int64_t n = t.sp ? static_cast<int64_t>(t.sp->pieces.size()) : hf.config.vocab_size;
  if (n != hf.config.vocab_size)
    throw Error("tokenizer " + t.from + " has " + std::to_string(n) +
                " tokens but the model's vocabulary has " + std::to_string(hf.config.vocab_size));
}

ConvertResult write_gguf_out(const ConvertOptions& o, const models::HfModel& hf,
                             const SourceTokenizer& t) {
  models::GgufSaveOptions g;
  if (!o.type.empty()) g.type = models::gguf_save_type(o.type);
  ConvertResult r;
  r.format = "gguf";
  const bool own = !hf.gguf_tokenizer.empty() && o.tokenizer.empty();
  if (t.sp && !own) {
    check_vocab(t, hf);
    g.meta = sentencepiece_gguf_meta(*t.sp);
  } else if (!t.other_path.empty()) {
    r.note = t.other_path + " not embedded (GGUF export writes SentencePiece tokenizers only)";
  }
  r.tokenizer = own || t.sp ? t.from : "";
  const io::TensorMap map = models::to_gguf(hf, g);
  io::write_gguf(o.out, map);
  r.tensors = map.size();
  return r;
}

// Tokenizer files of an HF export: the ones beside a Hugging Face source as they are, else the
// SentencePiece model found (tokenizer.model + tokenizer_config.json) or the tokenizer file named.
std::map<std::string, std::string> hf_tokenizer_files(const ConvertOptions& o,
                                                      const SourceTokenizer& t) {
  std::map<std::string, std::string> files;
  const std::string folder = text::model_folder(o.model);
  if (o.tokenizer.empty())
    for (const char* name : kHfTokenizerFiles)
      if (is_file(folder + "/" + name)) files[name] = read_file(folder + "/" + name);
  if (t.sp && !files.count("tokenizer.model") && !files.count("tokenizer.json")) {
    files["tokenizer.model"] = text::serialize_sentencepiece_model(*t.sp);
    files.emplace("tokenizer_config.json", text::sentencepiece_tokenizer_config(*t.sp));
  } else if (!t.other_path.empty() && !files.count("tokenizer.json")) {
    files["tokenizer.json"] = read_file(t.other_path);
  }
  return files;
}

ConvertResult write_hf_out(const ConvertOptions& o, const models::HfModel& hf,
                           const SourceTokenizer& t) {
  if (t.sp) check_vocab(t, hf);
  const std::map<std::string, std::string> files = hf_tokenizer_files(o, t);
  models::save_hf_directory(o.out, hf.tensors, hf.config_json, files);
  ConvertResult r;
  r.format = "hf";
  r.tensors = hf.tensors.size();
  r.files = {"config.json", "model.safetensors"};
  for (const auto& kv : files) r.files.push_back(kv.first);
  r.tokenizer = files.empty() ? "" : t.from.empty() ? text::model_folder(o.model) : t.from;
  return r;
}

}  // namespace

std::map<std::string, io::MetaValue> sentencepiece_gguf_meta(
    const text::SentencePieceModelProto& proto) {
  io::MetaValue tokens, scores, types;
  tokens.kind = scores.kind = types.kind = io::MetaValue::Kind::Array;
  tokens.gguf_type = kGgufString;
  scores.gguf_type = kGgufF32;
  types.gguf_type = kGgufI32;
  for (const text::SpPiece& p : proto.pieces) {
    tokens.array.push_back(io::MetaValue::of_string(p.piece));
    scores.array.push_back(io::MetaValue::of_float(p.score));
    types.array.push_back(io::MetaValue::of_int(static_cast<int>(p.type)));
  }
  auto u32 = [](int32_t v) {
    io::MetaValue m = io::MetaValue::of_uint(static_cast<uint32_t>(v));
    m.gguf_type = 4;  // u32, as llama.cpp writes token ids
    return m;
  };
  const text::SpTrainerSpec& s = proto.trainer_spec;
  std::map<std::string, io::MetaValue> m = {
      {"tokenizer.ggml.model", io::MetaValue::of_string("llama")},
      {"tokenizer.ggml.pre", io::MetaValue::of_string("default")},
      {"tokenizer.ggml.tokens", std::move(tokens)},
      {"tokenizer.ggml.scores", std::move(scores)},
      {"tokenizer.ggml.token_type", std::move(types)},
      {"tokenizer.ggml.add_space_prefix",
       io::MetaValue::of_bool(proto.normalizer_spec.add_dummy_prefix)}};
  if (s.unk_id >= 0) m["tokenizer.ggml.unknown_token_id"] = u32(s.unk_id);
  if (s.bos_id >= 0) m["tokenizer.ggml.bos_token_id"] = u32(s.bos_id);
  if (s.eos_id >= 0) m["tokenizer.ggml.eos_token_id"] = u32(s.eos_id);
  if (s.pad_id >= 0) m["tokenizer.ggml.padding_token_id"] = u32(s.pad_id);
  return m;
}

ConvertResult convert_model(const ConvertOptions& o) {
  if (o.model.empty() || o.out.empty()) throw Error("convert: a model and an output are required");
  std::string to = o.to;
  if (to.empty()) to = o.out.ends_with(".gguf") ? "gguf" : "hf";
  if (to != "gguf" && to != "hf") throw Error("convert: --to '" + to + "' (expected gguf or hf)");
  if (to == "hf" && !o.type.empty()) throw Error("convert: --type applies to GGUF output only");
  if (!o.type.empty()) models::gguf_save_type(o.type);  // a bad name fails before any work
  const models::HfModel hf = models::read_hf_model(o.model);
  const SourceTokenizer t = find_source_tokenizer(o, hf);
  ConvertResult r = to == "gguf" ? write_gguf_out(o, hf, t) : write_hf_out(o, hf, t);
  r.config = hf.config.describe();
  return r;
}

}  // namespace loom::generate
