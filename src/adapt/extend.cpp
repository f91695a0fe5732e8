#include "adapt/extend.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/tensor_map.h"
#include "text/sentencepiece_convert.h"
#include "text/unicode.h"

namespace loom::adapt {

namespace {

using ojson = nlohmann::ordered_json;

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool only_space(const std::string& s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\v' && c != '\f') return false;
  return true;
}

// A copy of `in` with the tensors named in `replace` swapped for new ones (order kept).
io::TensorMap replaced(const io::TensorMap& in, const std::string& name, Tensor t) {
  io::TensorMap out(in.source(), in.format());
  for (const std::string& n : in.names()) out.add(n, n == name ? t : in.get(n));
  for (const auto& [k, v] : in.meta()) out.set_meta(k, v);
  return out;
}

bool is_gguf(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char magic[4] = {0, 0, 0, 0};
  const size_t n = std::fread(magic, 1, 4, f);
  std::fclose(f);
  return n == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

// The SentencePiece (llama) vocabulary a GGUF embeds, as a tokenizer.json pipeline; nullptr when
// the file has no tokenizer.ggml.model.
std::unique_ptr<text::Tokenizer> gguf_tokenizer(const std::string& path) {
  io::TensorMap g = io::read_gguf(path);
  const std::string model = g.meta_string("tokenizer.ggml.model");
  if (model.empty()) return nullptr;
  if (model != "llama") {
    g.fail("tokenizer.ggml.model '" + model +
           "': only the SentencePiece ('llama') vocabulary is read from a GGUF here; pass "
           "--tokenizer");
  }
  const io::MetaValue* tokens = g.find_meta("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->kind != io::MetaValue::Kind::Array) {
    g.fail("tokenizer.ggml.tokens: expected an array of strings");
  }
  const io::MetaValue* scores = g.find_meta("tokenizer.ggml.scores");
  const io::MetaValue* types = g.find_meta("tokenizer.ggml.token_type");
  const size_t n = tokens->array.size();
  if ((scores && scores->array.size() != n) || (types && types->array.size() != n)) {
    g.fail("tokenizer.ggml.scores/token_type: expected " + std::to_string(n) + " entries");
  }
  text::SentencePieceModelProto p;
  bool any_byte = false;
  for (size_t i = 0; i < n; ++i) {
    if (tokens->array[i].kind != io::MetaValue::Kind::String) {
      g.fail("tokenizer.ggml.tokens[" + std::to_string(i) + "]: expected a string");
    }
    text::SpPiece piece;
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
  return text::sentencepiece_to_pipeline(p, path);
}

}  // namespace

std::vector<std::string> read_terms(const std::string& path) {
  return parse_terms(read_file(path), path);
}

std::vector<std::string> parse_terms(std::string_view text, const std::string& path) {
  std::vector<std::string> terms;
  std::set<std::string> seen;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = path + ": line " + std::to_string(line_no) + ": ";
    if (!text::utf8_valid(line)) throw Error(where + "expected UTF-8 text, found invalid bytes");
    if (line_no == 1 && line.rfind("term\tfreq", 0) == 0) continue;  // mine-terms header
    size_t tab = line.find('\t');
    if (tab != std::string::npos) line.resize(tab);
    if (line.empty() || only_space(line)) continue;
    if (line.front() == ' ' || line.back() == ' ') {
      throw Error(where + "term '" + line + "' has spaces around it (write the term alone)");
    }
    if (!seen.insert(line).second) throw Error(where + "duplicate term '" + line + "'");
    terms.push_back(line);
  }
  if (terms.empty()) throw Error(path + ": expected at least one term (one per line), found none");
  return terms;
}

std::unique_ptr<text::Tokenizer> tokenizer_for_model(const std::string& model_path,
                                                     const std::string& tokenizer_path) {
  if (!tokenizer_path.empty()) return text::load_tokenizer(tokenizer_path);
  std::string dir = model_path;
  if (!is_dir(dir)) {
    size_t slash = model_path.rfind('/');
    dir = slash == std::string::npos ? "." : model_path.substr(0, slash);
    bool st = model_path.size() > 12 &&
              model_path.compare(model_path.size() - 12, 12, ".safetensors") == 0;
    if (!st) dir.clear();
  }
  if (!dir.empty() && is_file(dir + "/tokenizer.json")) {
    return text::load_tokenizer(dir + "/tokenizer.json");
  }
  if (is_file(model_path) && is_gguf(model_path)) {
    if (auto t = gguf_tokenizer(model_path)) return t;
  }
  throw Error(model_path +
              ": the model has no tokenizer beside it (no tokenizer.json); pass "
              "--tokenizer FILE");
}

ExtendResult extend_model(const models::Model& model, std::unique_ptr<text::Tokenizer> tok,
                          const std::vector<std::string>& terms, const GrowOptions& grow,
                          const std::string& terms_name) {
  LOOM_ASSERT(tok != nullptr, "a tokenizer");
  const int64_t V = model.vocab_size();
  if (tok->vocab_size() != V) {
    throw Error("tokenizer has " + std::to_string(tok->vocab_size()) +
                " tokens but the model's vocabulary has " + std::to_string(V) +
                " rows (pass the model's own tokenizer)");
  }
  // A term is tokenised as it appears in running text, after a space. Tokenizers with a dummy
  // prefix (SentencePiece style) add that space themselves.
  bool dummy_prefix = false;
  {
    text::Encoding e = tok->encode("a", false);
    std::vector<std::string> p = tok->pieces(e);
    dummy_prefix = !p.empty() && p[0].rfind("\xE2\x96\x81", 0) == 0;
  }
  ExtendResult r;
  r.base_vocab = V;
  std::set<std::string> seen;
  for (const std::string& t : terms) {
    const std::string where = terms_name + ": term '" + t + "': ";
    if (t.empty() || only_space(t)) throw Error(terms_name + ": an empty term");
    if (!text::utf8_valid(t)) throw Error(terms_name + ": a term is not valid UTF-8");
    if (!seen.insert(t).second) throw Error(where + "listed twice");
    if (auto id = tok->token_to_id(t)) {
      throw Error(where + "already in the vocabulary (id " + std::to_string(*id) + ")");
    }
    std::vector<int32_t> ids;
    tok->encode_ids(dummy_prefix ? t : " " + t, false, ids);
    if (ids.size() == 1) {
      throw Error(where + "already a single token of the vocabulary in running text (id " +
                  std::to_string(ids[0]) + ")");
    }
    if (ids.empty()) throw Error(where + "encodes to no tokens");
    r.subtokens.push_back(ids);
  }
  // Add them.
  std::vector<text::AddedToken> add;
  for (const std::string& t : terms) {
    text::AddedToken a;
    a.content = t;
    a.special = false;
    a.normalized = true;
    add.push_back(a);
  }
  if (!add.empty()) {
    int n = tok->add_tokens(add);
    if (n != static_cast<int>(add.size())) {
      throw Error(terms_name + ": the tokenizer added " + std::to_string(n) + " of " +
                  std::to_string(add.size()) + " terms");
    }
    for (size_t i = 0; i < terms.size(); ++i) {
      auto id = tok->token_to_id(terms[i]);
      if (!id || *id != V + static_cast<int64_t>(i)) {
        throw Error(terms_name + ": term '" + terms[i] + "' did not get id " +
                    std::to_string(V + static_cast<int64_t>(i)));
      }
    }
  }
  r.added = static_cast<int64_t>(terms.size());

  models::HfModel hf = models::to_hf(model, {tok->bos_id(), tok->eos_id()});
  const std::string embed = hf.embed_name();
  const Tensor& e0 = hf.tensors.get(embed);
  r.embed_sha256 = rows_sha256(e0.view(), 0, V);
  Tensor e1 = grow_rows(e0.view(), r.subtokens, grow);
  io::TensorMap tensors = replaced(hf.tensors, embed, e1);
  if (!hf.tied_head) {
    const Tensor& h0 = hf.tensors.get(hf.head_name());
    r.head_sha256 = rows_sha256(h0.view(), 0, V);
    GrowOptions g = grow;
    g.seed = grow.seed + 1;  // independent draws for the head (Normal / MeanCov)
    tensors = replaced(tensors, hf.head_name(), grow_rows(h0.view(), r.subtokens, g));
  }
  hf.tensors = std::move(tensors);
  hf.config["vocab_size"] = V + r.added;
  ojson ext = {{"base_vocab_size", V}, {"added", r.added}, {"init", init_method_name(grow.method)}};
  if (grow.method == InitMethod::Normal) ext["std"] = grow.std;
  if (grow.method == InitMethod::Normal || grow.method == InitMethod::MeanCov)
    ext["seed"] = grow.seed;
  ext["embed_rows_sha256"] = r.embed_sha256;
  if (!hf.tied_head) ext["head_rows_sha256"] = r.head_sha256;
  hf.config["loom_extension"] = ext;
  r.model = std::move(hf);

  r.tokenizer_json = tok->to_json();
  ojson tc = ojson::object();
  if (tok->bos_id() >= 0) tc["bos_token"] = tok->id_to_token(tok->bos_id());
  if (tok->eos_id() >= 0) tc["eos_token"] = tok->id_to_token(tok->eos_id());
  tc["add_bos_token"] = tok->bos_id() >= 0;
  tc["tokenizer_class"] = "PreTrainedTokenizerFast";
  tc["model_max_length"] = model.context_length();
  r.tokenizer_config_json = tc.dump(2) + "\n";
  r.tokenizer = std::move(tok);
  return r;
}

void save_extended(const std::string& dir, const ExtendResult& r) {
  models::save_hf_directory(
      dir, r.model.tensors, r.model.config,
      {{"tokenizer.json", r.tokenizer_json}, {"tokenizer_config.json", r.tokenizer_config_json}});
}

}  // namespace loom::adapt
