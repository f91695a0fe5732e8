// What every architecture's spec gives for free: the registry, tensor names, reading a config from
// a checkpoint's metadata and writing config.json, rope scaling and the q/k row permutation.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "models/decoder.h"
#include "models/loader_util.h"

namespace loom::models {

// The registry: one line per architecture file.
const Architecture& llama_architecture();
const Architecture& gpt2_architecture();
const Architecture& bert_architecture();
const Architecture& roberta_architecture();
const Architecture& t5_architecture();
const Architecture& bart_architecture();

std::vector<const Architecture*> architectures() {
  return {&llama_architecture(), &gpt2_architecture(), &bert_architecture(),
          &roberta_architecture(), &t5_architecture(), &bart_architecture()};
}

Act Architecture::encoded(Ops&, const DecoderConfig&) const {
  throw Error(std::string(name()) + " is not an encoder-decoder");
}

Act Architecture::decoded(Ops&, const DecoderConfig&, Act) const {
  throw Error(std::string(name()) + " is not an encoder-decoder");
}

Act Architecture::pooled(Ops&, const DecoderConfig&, Act) const {
  throw Error(std::string(name()) + " has no pooler (a decoder embeds through its hidden states)");
}

namespace {

using ojson = nlohmann::ordered_json;

ojson meta_to_json(const io::MetaValue& v) {
  switch (v.kind) {
    case io::MetaValue::Kind::Int:
      return v.i;
    case io::MetaValue::Kind::UInt:
      return v.u;
    case io::MetaValue::Kind::Float:
      return v.f;
    case io::MetaValue::Kind::Bool:
      return v.b;
    case io::MetaValue::Kind::String:
      return v.s;
    case io::MetaValue::Kind::Array: {
      ojson a = ojson::array();
      for (const auto& e : v.array) a.push_back(meta_to_json(e));
      return a;
    }
  }
  return nullptr;
}

std::string meta_key(const Architecture& a, const HParam& p, bool hf) {
  if (hf) return p.hf_key ? std::string("config.") + p.hf_key : "";
  return p.gguf_key ? std::string(a.name()) + "." + p.gguf_key : "";
}

void read_hparam(const Architecture& a, const io::TensorMap& map, bool hf, const HParam& p,
                 DecoderConfig& c) {
  const std::string key = meta_key(a, p, hf);
  const io::MetaValue* v = key.empty() ? nullptr : map.find_meta(key);
  if (v == nullptr && p.required) map.meta_int(key);  // throws: missing key, named
  if (v != nullptr && !v->is_number() && v->kind != io::MetaValue::Kind::Bool)
    map.fail("metadata '" + key + "' must be a number");
  const double x = v ? v->number() : p.def;
  if (p.i) {
    if (v && (x <= 0 || x > (1 << 24) || x != std::floor(x)))
      map.fail("metadata '" + key + "' must be an integer in 1..2^24, got " + std::to_string(x));
    c.*p.i = static_cast<int64_t>(x);
  } else {
    if (v && !(std::isfinite(x) && x > 0))
      map.fail("metadata '" + key + "' must be a positive number, got " + std::to_string(x));
    c.*p.f = static_cast<float>(x);
  }
}

void check_sizes(const io::TensorMap& map, const DecoderConfig& c) {
  auto positive = [&](int64_t v, const char* what) {
    if (v <= 0 || v > (1 << 24))
      map.fail(std::string(what) + " in 1..2^24, got " + std::to_string(v));
  };
  positive(c.dim, "embedding size");
  positive(c.hidden_dim, "feed-forward size");
  positive(c.n_layers, "layer count");
  positive(c.n_heads, "head count");
  positive(c.n_kv_heads, "key/value head count");
  positive(c.context_length, "context length");
  positive(c.head_dim, "head size");
  positive(c.vocab_size, "vocabulary size");
  if (c.n_heads % c.n_kv_heads != 0)
    map.fail("head count " + std::to_string(c.n_heads) +
             " a multiple of the key/value head count " + std::to_string(c.n_kv_heads));
}

int32_t meta_id(const io::TensorMap& m, const char* gguf_key, const char* cfg_key) {
  for (const char* k : {gguf_key, cfg_key})
    if (const io::MetaValue* v = m.find_meta(k); v && v->is_number() && v->number() >= 0 &&
                                                 v->number() < 2147483647.0)
      return static_cast<int32_t>(v->number());
  return -1;
}

}  // namespace

double json_float(float v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  double d = 0;
  std::from_chars(buf, r.ptr, d);
  return d;
}

std::string DecoderConfig::describe() const {
  return arch + " dim=" + std::to_string(dim) + " layers=" + std::to_string(n_layers) +
         " heads=" + std::to_string(n_heads) + "/" + std::to_string(n_kv_heads) +
         " hidden=" + std::to_string(hidden_dim) + " vocab=" + std::to_string(vocab_size) +
         " ctx=" + std::to_string(context_length);
}

int32_t Architecture::role(const char* name) const {
  const auto& t = tensors();
  for (size_t i = 0; i < t.size(); ++i)
    if (std::strcmp(t[i].role, name) == 0) return static_cast<int32_t>(i);
  LOOM_ASSERT(false, "unknown tensor role");
  return -1;
}

const Architecture* find_architecture(const std::string& name) {
  for (const Architecture* a : architectures())
    if (name == a->name() || name == a->hf_class()) return a;
  return nullptr;
}

const Architecture& architecture(const std::string& name) {
  if (const Architecture* a = find_architecture(name)) return *a;
  std::string known;
  for (const Architecture* a : architectures())
    known += std::string(known.empty() ? "" : ", ") + a->name() + " / " + a->hf_class();
  throw Error("unknown architecture '" + name + "' (expected " + known + ")");
}

const Architecture& architecture_of(const io::TensorMap& map) {
  std::string name = map.meta_string("general.architecture");
  if (name.empty())
    if (const io::MetaValue* a = map.find_meta("config.architectures");
        a && a->kind == io::MetaValue::Kind::Array && !a->array.empty())
      name = a->array[0].s;
  if (const Architecture* a = find_architecture(name)) return *a;
  // A class Loom has no head for (BertModel) still names its family through model_type.
  if (const Architecture* a = find_architecture(map.meta_string("config.model_type"))) return *a;
  if (name.empty()) name = map.meta_string("config.model_type");
  try {
    architecture(name);
  } catch (const Error& e) {
    map.fail(e.what());
  }
  map.fail("unknown architecture");
}

std::string tensor_name(const TensorSpec& t, int64_t layer, bool hf) {
  std::string n = hf ? t.hf : t.gguf;
  const size_t at = n.find("{L}");
  if (at != std::string::npos) n.replace(at, 3, std::to_string(layer));
  return n;
}

// A base model saved on its own (GPT2Model, BertModel, RobertaModel: what sentence-transformers
// ships) names its tensors without the "transformer." / "bert." / "roberta." prefix the LM classes
// add.
std::string detail::stored_name(const io::TensorMap& map, const std::string& name) {
  if (map.has(name)) return name;
  for (const char* prefix : {"transformer.", "bert.", "roberta."}) {
    const size_t n = std::strlen(prefix);
    if (name.compare(0, n, prefix) == 0 && map.has(name.substr(n))) return name.substr(n);
  }
  return name;
}

const Tensor* find_tensor(const io::TensorMap& map, const TensorSpec& t, int64_t layer, bool hf) {
  const std::string name = tensor_name(t, layer, hf);
  return map.find(hf ? detail::stored_name(map, name) : name);
}

bool has_hf_names(const Architecture& a, const io::TensorMap& map) {
  const TensorSpec& embd = a.tensors()[0];
  return !map.has(tensor_name(embd, 0, false)) && find_tensor(map, embd, 0, true) != nullptr;
}

void check_hf_tensors(const Architecture& a, DecoderConfig& c, const io::TensorMap& map,
                      const char* fields) {
  const TensorSpec& embd = a.tensors()[0];
  const Tensor* te = find_tensor(map, embd, 0, true);
  if (te == nullptr) map.get(tensor_name(embd, 0, true));  // throws: missing, named
  c.vocab_size = te->shape().rank() == 2 ? te->shape()[0] : 0;
  for (const TensorSpec& t : a.tensors())
    for (int64_t l = 0; l < layer_count(t, c); ++l) {
      if (!tensor_present(t, c)) continue;
      const std::string name = tensor_name(t, l, true);
      const Tensor* found = find_tensor(map, t, l, true);
      if (found == nullptr) map.get(name);  // throws: missing, named
      if (found->shape() != t.hf_shape(c))
        map.fail("tensor '" + name + "' has shape " + found->shape().str() + ", expected " +
                 t.hf_shape(c).str() + " from config.json (" + fields + ")");
    }
}

DecoderConfig read_config(const Architecture& a, const io::TensorMap& map) {
  const bool hf = has_hf_names(a, map);
  DecoderConfig c;
  c.arch = a.name();
  for (const HParam& p : a.hparams()) read_hparam(a, map, hf, p, c);
  const TensorSpec& embd = a.tensors()[0];
  const Tensor* te = find_tensor(map, embd, 0, hf);
  if (te == nullptr) map.get(tensor_name(embd, 0, hf));  // throws: missing tensor, named
  c.bos_token_id = meta_id(map, "tokenizer.ggml.bos_token_id", "config.bos_token_id");
  c.eos_token_id = meta_id(map, "tokenizer.ggml.eos_token_id", "config.eos_token_id");
  a.finish_config(c, map, hf);
  if (te->shape().rank() != 2 || te->shape()[1] != c.dim)
    map.fail("tensor '" + tensor_name(embd, 0, hf) + "' has shape " + te->shape().str() +
             ", expected (vocab, " + std::to_string(c.dim) + ")");
  c.vocab_size = te->shape()[0];
  if (hf && map.has_meta("config.vocab_size") &&
      map.meta_int("config.vocab_size") != c.vocab_size)
    map.fail("the token embedding has " + std::to_string(c.vocab_size) +
             " rows but config.json says vocab_size " +
             std::to_string(map.meta_int("config.vocab_size")));
  check_sizes(map, c);
  c.base_vocab_size = map.meta_int("config.loom_extension.base_vocab_size", -1);
  if (c.base_vocab_size > c.vocab_size)
    map.fail("loom_extension.base_vocab_size " + std::to_string(c.base_vocab_size) +
             " exceeds vocab_size " + std::to_string(c.vocab_size));
  return c;
}

ojson config_json(const DecoderConfig& c, const ojson& base) {
  const Architecture& a = architecture(c.arch);
  ojson j = base.is_object() ? base : ojson::object();
  j["architectures"] = {a.hf_class()};
  j["model_type"] = a.name();
  for (const HParam& p : a.hparams()) {
    if (p.hf_key == nullptr) continue;
    if (p.i)
      j[p.hf_key] = c.*p.i;
    else
      j[p.hf_key] = json_float(c.*p.f);
  }
  a.write_config(c, j);
  if (c.rope.scaling.empty() && !c.rope.freq_factors.empty()) {
    throw Error(
        "config.json: the model's rope frequency factors are not Llama 3's (no "
        "rope_scaling reproduces them), so no config.json computes this model");
  } else if (c.rope.scaling.empty()) {
    j.erase("rope_scaling");
  } else {
    ojson rs = {{"rope_type", c.rope.scaling}, {"factor", c.rope.factor}};
    if (c.rope.scaling == "llama3") {
      rs["low_freq_factor"] = c.rope.low_freq_factor;
      rs["high_freq_factor"] = c.rope.high_freq_factor;
      rs["original_max_position_embeddings"] = c.rope.original_context;
    }
    j["rope_scaling"] = rs;
  }
  j["vocab_size"] = c.vocab_size;
  j["tie_word_embeddings"] = c.tied_head;
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_id >= 0) j["eos_token_id"] = c.eos_token_id;
  if (c.base_vocab_size >= 0) j["loom_extension"]["base_vocab_size"] = c.base_vocab_size;
  j["torch_dtype"] = "float32";
  return j;
}

ojson config_from_meta(const io::TensorMap& map) {
  ojson j = ojson::object();
  for (const auto& [key, value] : map.meta()) {
    if (key.rfind("config.", 0) != 0) continue;
    const std::string rest = key.substr(7);
    const size_t dot = rest.find('.');
    if (dot == std::string::npos) j[rest] = meta_to_json(value);
    else j[rest.substr(0, dot)][rest.substr(dot + 1)] = meta_to_json(value);
  }
  return j;
}

std::vector<float> llama3_rope_factors(float theta, int64_t rot_dim, double factor,
                                       double low_freq_factor, double high_freq_factor,
                                       double original_context) {
  // Hugging Face's _compute_llama3_parameters, written as divisors of each pair's frequency (as
  // llama.cpp's rope_freqs tensor holds them): long wavelengths are slowed by `factor`, short
  // ones kept, and the band between blended smoothly.
  const double low_wavelen = original_context / low_freq_factor;
  const double high_wavelen = original_context / high_freq_factor;
  std::vector<float> out(static_cast<size_t>(rot_dim / 2));
  for (int64_t i = 0; i < rot_dim / 2; ++i) {
    const double freq = 1.0 / std::pow(static_cast<double>(theta),
                                       static_cast<double>(2 * i) / static_cast<double>(rot_dim));
    const double wavelen = 2 * M_PI / freq;
    double new_freq = freq;
    if (wavelen > low_wavelen) {
      new_freq = freq / factor;
    } else if (wavelen >= high_wavelen) {
      const double smooth = (original_context / wavelen - low_freq_factor) /
                            (high_freq_factor - low_freq_factor);
      new_freq = (1 - smooth) * freq / factor + smooth * freq;
    }
    out[static_cast<size_t>(i)] = static_cast<float>(freq / new_freq);
  }
  return out;
}

namespace {

// GGUF's rope_freqs tensor: per-pair divisors, as llama.cpp writes them for Llama 3.
bool read_rope_freqs(const io::TensorMap& map, RopeSettings& rope) {
  const Tensor* t = map.find("rope_freqs.weight");
  if (t == nullptr) return false;
  const int64_t half = rope.rot_dim / 2;
  if (t->dtype() != DType::F32 || t->shape().numel() != half)
    map.fail("tensor 'rope_freqs.weight': expected " + std::to_string(half) +
             " f32 frequency factors, got " + t->shape().str() + " " +
             std::string(dtype_name(t->dtype())));
  const float* p = static_cast<const float*>(t->data());
  for (int64_t i = 0; i < half; ++i)
    if (!(p[i] > 0) || !std::isfinite(p[i]))
      map.fail("tensor 'rope_freqs.weight': factor " + std::to_string(i) +
               " must be positive and finite");
  rope.freq_factors.assign(p, p + half);
  return true;
}

// Whether Llama 3 scaling with these parameters gives every stored divisor to 1e-6 relative.
bool llama3_matches(const RopeSettings& r, double factor, double low, double high, double orig) {
  const std::vector<float> f = llama3_rope_factors(r.theta, r.rot_dim, factor, low, high, orig);
  for (size_t i = 0; i < f.size(); ++i)
    if (!(std::fabs(f[i] - r.freq_factors[i]) <= 1e-6 * std::fabs(r.freq_factors[i]))) return false;
  return f.size() == r.freq_factors.size();
}

// The Llama 3 rope_scaling that reproduces rope.freq_factors (GGUF's rope_freqs tensor, which
// llama.cpp's converter writes without a scaling type), set into rope; false when none does.
// The divisors depend only on factor, orig/low and orig/high, so several sets fit: the one Llama
// 3.x publish (low 1, high 4, 8192) and its neighbours are tried first, then every power-of-two
// original context. `factor` is the largest divisor (the slowed band), or a hint from the file.
bool fit_llama3_rope(RopeSettings& rope, double hint) {
  if (rope.freq_factors.empty()) return false;
  const double top = *std::max_element(rope.freq_factors.begin(), rope.freq_factors.end());
  std::vector<double> origs = {8192};
  for (int e = 4; e <= 20; ++e) origs.push_back(std::ldexp(1.0, e));
  for (double factor : {hint, top, 8.0, 16.0, 32.0}) {
    if (!(factor >= 1)) continue;
    for (double low : {1.0, 2.0, 0.5})
      for (double high : {4.0, 2.0, 8.0})
        for (double orig : origs) {
          if (high <= low || !llama3_matches(rope, factor, low, high, orig)) continue;
          rope.scaling = "llama3";
          rope.factor = factor;
          rope.low_freq_factor = low;
          rope.high_freq_factor = high;
          rope.original_context = orig;
          return true;
        }
  }
  return false;
}

}  // namespace

// Other kinds (yarn, dynamic, longrope) would give silently wrong outputs, so they are refused.
void read_rope_scaling(const io::TensorMap& map, const std::string& arch, bool hf,
                       RopeSettings& rope) {
  const int64_t half = rope.rot_dim / 2;
  std::string type;
  double factor = 1;
  if (hf) {
    type = map.meta_string("config.rope_scaling.rope_type",
                           map.meta_string("config.rope_scaling.type", ""));
    factor = map.meta_float("config.rope_scaling.factor", 1.0);
  } else {
    type = map.meta_string(arch + ".rope.scaling.type", "");
    factor = map.meta_float(arch + ".rope.scaling.factor", 1.0);
    if (read_rope_freqs(map, rope) && (type.empty() || type == "none" || type == "llama3")) {
      // Stored divisors drive the model; the fitted parameters only name them for config.json
      // (a file whose divisors fit no llama3 set still runs, but has no config.json form).
      fit_llama3_rope(rope, type == "llama3" ? factor : 0);
      return;
    }
  }
  if (type.empty() || type == "default" || type == "none") return;
  if (!(factor > 0) || !std::isfinite(factor))
    map.fail("rope scaling factor must be positive, got " + std::to_string(factor));
  rope.scaling = type;
  rope.factor = factor;
  if (type == "linear") {
    rope.freq_factors.assign(static_cast<size_t>(half), static_cast<float>(factor));
  } else if (type == "llama3" && hf) {
    rope.low_freq_factor = map.meta_float("config.rope_scaling.low_freq_factor", 1.0);
    rope.high_freq_factor = map.meta_float("config.rope_scaling.high_freq_factor", 4.0);
    rope.original_context =
        map.meta_float("config.rope_scaling.original_max_position_embeddings", 8192);
    if (!(rope.low_freq_factor > 0) || !(rope.high_freq_factor > rope.low_freq_factor) ||
        !(rope.original_context > 0))
      map.fail("rope_scaling llama3: need 0 < low_freq_factor < high_freq_factor and "
               "original_max_position_embeddings > 0");
    rope.freq_factors = llama3_rope_factors(rope.theta, rope.rot_dim, factor, rope.low_freq_factor,
                                            rope.high_freq_factor, rope.original_context);
  } else {
    map.fail("rope scaling '" + type + "' is not supported (linear and llama3 are)");
  }
}

Tensor permute_rope_rows(const TensorView& w, int64_t heads, bool to_half_split) {
  LOOM_ASSERT(w.dtype() == DType::F32 && w.shape().rank() == 2, "f32 matrix");
  const int64_t rows = w.shape()[0], cols = w.shape()[1];
  LOOM_ASSERT(heads > 0 && rows % heads == 0 && (rows / heads) % 2 == 0, "rows = heads * even hd");
  const int64_t hd = rows / heads, half = hd / 2;
  Tensor out = Tensor::empty(Shape({rows, cols}));
  const size_t rb = static_cast<size_t>(cols) * sizeof(float);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t j = 0; j < hd; ++j) {
      const int64_t inter = j < half ? 2 * j : 2 * (j - half) + 1;  // interleaved index of j
      const int64_t half_row = h * hd + j, inter_row = h * hd + inter;
      const int64_t dst = to_half_split ? half_row : inter_row;
      const int64_t src = to_half_split ? inter_row : half_row;
      std::memcpy(out.view().row(dst), w.row(src), rb);
    }
  }
  return out;
}

}  // namespace loom::models
