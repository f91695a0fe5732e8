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

// A copy of `in` with the tensors named in `replace` swapped for new ones (order kept).
Tensor f32(const Tensor& t) { return t.dtype() == DType::F32 ? t : t.to(DType::F32); }

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

  models::HfModel hf = models::to_hf(model.weights());
  const bool tied = hf.config.tied_head;
  const std::string embed = hf.embed_name();
  const Tensor e0 = f32(hf.tensors.get(embed));
  r.embed_sha256 = rows_sha256(e0.view(), 0, V);
  Tensor e1 = grow_rows(e0.view(), r.subtokens, grow);
  io::TensorMap tensors = replaced(hf.tensors, embed, e1);
  if (!tied) {
    const Tensor h0 = f32(hf.tensors.get(hf.head_name()));
    r.head_sha256 = rows_sha256(h0.view(), 0, V);
    GrowOptions g = grow;
    g.seed = grow.seed + 1;  // independent draws for the head (Normal / MeanCov)
    tensors = replaced(tensors, hf.head_name(), grow_rows(h0.view(), r.subtokens, g));
  }
  hf.tensors = std::move(tensors);
  hf.config.vocab_size = V + r.added;
  hf.config.base_vocab_size = V;
  if (tok->bos_id() >= 0) hf.config.bos_token_id = tok->bos_id();
  if (tok->eos_id() >= 0) hf.config.eos_token_id = tok->eos_id();
  hf.config_json = models::config_json(hf.config, hf.config_json);
  ojson& ext = hf.config_json["loom_extension"];
  ext["added"] = r.added;
  ext["init"] = init_method_name(grow.method);
  if (grow.method == InitMethod::Normal) ext["std"] = grow.std;
  if (grow.method == InitMethod::Normal || grow.method == InitMethod::MeanCov)
    ext["seed"] = grow.seed;
  ext["embed_rows_sha256"] = r.embed_sha256;
  if (!tied) ext["head_rows_sha256"] = r.head_sha256;
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
      dir, r.model.tensors, r.model.config_json,
      {{"tokenizer.json", r.tokenizer_json}, {"tokenizer_config.json", r.tokenizer_config_json}});
}

}  // namespace loom::adapt
