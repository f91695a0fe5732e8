#include "adapt/extend.h"

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

bool only_space(const std::string& s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\v' && c != '\f') return false;
  return true;
}

Tensor f32(const Tensor& t) { return t.dtype() == DType::F32 ? t : t.to(DType::F32); }

// A copy of `in` with the tensor `name` swapped for t (order kept).

io::TensorMap replaced(const io::TensorMap& in, const std::string& name, Tensor t) {
  io::TensorMap out(in.source(), in.format());
  for (const std::string& n : in.names()) out.add(n, n == name ? t : in.get(n));
  for (const auto& [k, v] : in.meta()) out.set_meta(k, v);
  return out;
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

namespace {

// Whether tok adds the space before a word itself (a SentencePiece-style dummy prefix): "a"
// then encodes to a piece starting with U+2581.
bool has_dummy_prefix(const text::Tokenizer& tok) {
  text::Encoding e = tok.encode("a", false);
  std::vector<std::string> p = tok.pieces(e);
  return !p.empty() && p[0].rfind("\xE2\x96\x81", 0) == 0;
}

// Checks every term (see extend_model in the header) and returns each one's tokenisation as it
// appears in running text, after a space.
std::vector<std::vector<int32_t>> term_subtokens(const text::Tokenizer& tok,
                                                 const std::vector<std::string>& terms,
                                                 const std::string& terms_name) {
  const bool dummy_prefix = has_dummy_prefix(tok);
  std::vector<std::vector<int32_t>> subtokens;
  std::set<std::string> seen;
  for (const std::string& t : terms) {
    const std::string where = terms_name + ": term '" + t + "': ";
    if (t.empty() || only_space(t)) throw Error(terms_name + ": an empty term");
    if (!text::utf8_valid(t)) throw Error(terms_name + ": a term is not valid UTF-8");
    if (!seen.insert(t).second) throw Error(where + "listed twice");
    if (auto id = tok.token_to_id(t)) {
      throw Error(where + "already in the vocabulary (id " + std::to_string(*id) + ")");
    }
    std::vector<int32_t> ids;
    tok.encode_ids(dummy_prefix ? t : " " + t, false, ids);
    if (ids.size() == 1) {
      throw Error(where + "already a single token of the vocabulary in running text (id " +
                  std::to_string(ids[0]) + ")");
    }
    if (ids.empty()) throw Error(where + "encodes to no tokens");
    subtokens.push_back(ids);
  }
  return subtokens;
}

// Adds the terms to tok as normal added tokens and checks they got the ids V, V + 1, ...
void add_terms(text::Tokenizer& tok, const std::vector<std::string>& terms, int64_t V,
               const std::string& terms_name) {
  std::vector<text::AddedToken> add;
  for (const std::string& t : terms) {
    text::AddedToken a;
    a.content = t;
    a.special = false;
    a.normalized = true;
    add.push_back(a);
  }
  if (add.empty()) return;
  int n = tok.add_tokens(add);
  if (n != static_cast<int>(add.size())) {
    throw Error(terms_name + ": the tokenizer added " + std::to_string(n) + " of " +
                std::to_string(add.size()) + " terms");
  }
  for (size_t i = 0; i < terms.size(); ++i) {
    auto id = tok.token_to_id(terms[i]);
    if (!id || *id != V + static_cast<int64_t>(i)) {
      throw Error(terms_name + ": term '" + terms[i] + "' did not get id " +
                  std::to_string(V + static_cast<int64_t>(i)));
    }
  }
}

// Grows hf's embedding, and its head when untied, by one row per term; r gets the hashes of
// the V original rows.
void grow_tensors(models::HfModel& hf, const GrowOptions& grow, int64_t V, ExtendResult& r) {
  const std::string embed = hf.embed_name();
  const Tensor e0 = f32(hf.tensors.get(embed));
  r.embed_sha256 = rows_sha256(e0.view(), 0, V);
  Tensor e1 = grow_rows(e0.view(), r.subtokens, grow);
  io::TensorMap tensors = replaced(hf.tensors, embed, e1);
  if (!hf.config.tied_head) {
    const Tensor h0 = f32(hf.tensors.get(hf.head_name()));
    r.head_sha256 = rows_sha256(h0.view(), 0, V);
    GrowOptions g = grow;
    g.seed = grow.seed + 1;  // independent draws for the head (the random methods)
    tensors = replaced(tensors, hf.head_name(), grow_rows(h0.view(), r.subtokens, g));
  }
  hf.tensors = std::move(tensors);
}

// config.json for the grown model: new vocabulary size, the tokenizer's bos/eos, and a
// loom_extension record of how the rows were made.
void update_config(models::HfModel& hf, const text::Tokenizer& tok, const GrowOptions& grow,
                   int64_t V, const ExtendResult& r) {
  hf.config.vocab_size = V + r.added;
  hf.config.base_vocab_size = V;
  if (tok.bos_id() >= 0) hf.config.bos_token_id = tok.bos_id();
  if (tok.eos_id() >= 0) hf.config.eos_token_id = tok.eos_id();
  hf.config_json = models::config_json(hf.config, hf.config_json);
  ojson& ext = hf.config_json["loom_extension"];
  ext["added"] = r.added;
  ext["init"] = init_method_name(grow.method);
  if (grow.method == InitMethod::Normal) ext["std"] = grow.std;
  if (grow.method == InitMethod::MeanCovFull) ext["cov_scale"] = grow.cov_scale;
  if (init_method_is_random(grow.method)) ext["seed"] = grow.seed;
  ext["embed_rows_sha256"] = r.embed_sha256;
  if (!hf.config.tied_head) ext["head_rows_sha256"] = r.head_sha256;
}

std::string tokenizer_config_json(const text::Tokenizer& tok, int64_t context_length) {
  ojson tc = ojson::object();
  if (tok.bos_id() >= 0) tc["bos_token"] = tok.id_to_token(tok.bos_id());
  if (tok.eos_id() >= 0) tc["eos_token"] = tok.id_to_token(tok.eos_id());
  tc["add_bos_token"] = tok.bos_id() >= 0;
  tc["tokenizer_class"] = "PreTrainedTokenizerFast";
  tc["model_max_length"] = context_length;
  return tc.dump(2) + "\n";
}

}  // namespace

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
  ExtendResult r;
  r.base_vocab = V;
  r.subtokens = term_subtokens(*tok, terms, terms_name);
  add_terms(*tok, terms, V, terms_name);
  r.added = static_cast<int64_t>(terms.size());
  models::HfModel hf = models::to_hf(model.weights());
  grow_tensors(hf, grow, V, r);
  update_config(hf, *tok, grow, V, r);
  r.model = std::move(hf);
  r.tokenizer_json = tok->to_json();
  r.tokenizer_config_json = tokenizer_config_json(*tok, model.context_length());
  r.tokenizer = std::move(tok);
  return r;
}

void save_extended(const std::string& dir, const ExtendResult& r) {
  models::save_hf_directory(
      dir, r.model.tensors, r.model.config_json,
      {{"tokenizer.json", r.tokenizer_json}, {"tokenizer_config.json", r.tokenizer_config_json}});
}

std::shared_ptr<const models::Model> extended_model(const ExtendResult& r) {
  // Tensors (shared, not copied) and config.json as a directory would hold them.
  io::TensorMap map(r.model.source + " (extended)", "safetensors");
  for (const std::string& name : r.model.tensors.names()) map.add(name, r.model.tensors.get(name));
  io::add_config_json(map, r.model.config_json.dump(), map.source() + " config.json");
  return models::build_model(std::move(map));
}

}  // namespace loom::adapt
