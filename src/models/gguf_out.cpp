#include "models/gguf_out.h"

#include <cstring>

#include "core/error.h"
#include "models/causal_lm.h"

namespace loom::models {

namespace {

// llama.cpp writes counts as u32, eps and theta as f32.
constexpr uint32_t kGgufU32 = io::gguf::kU32, kGgufF32 = io::gguf::kF32;

io::MetaValue gguf_u32(int64_t v) {
  io::MetaValue m = io::MetaValue::of_uint(static_cast<uint64_t>(v));
  m.gguf_type = kGgufU32;
  return m;
}

io::MetaValue gguf_f32(double v) {
  io::MetaValue m = io::MetaValue::of_float(v);
  m.gguf_type = kGgufF32;
  return m;
}

// llama.cpp's general.file_type: the type most weights have (ALL_F32 0, MOSTLY_F16 1,
// MOSTLY_Q8_0 7, MOSTLY_BF16 32).
int64_t file_type(const io::TensorMap& t) {
  bool f16 = false, bf16 = false;
  for (const std::string& name : t.names()) {
    const DType d = t.get(name).dtype();
    if (d == DType::Q8_0) return 7;
    f16 |= d == DType::F16;
    bf16 |= d == DType::BF16;
  }
  return f16 ? 1 : bf16 ? 32 : 0;
}

DType out_type(const Tensor& t, const TensorSpec& s, const GgufSaveOptions& o) {
  if (s.kind == TensorKind::Vector) return DType::F32;
  DType d = o.type ? *o.type : t.dtype();
  if (d != DType::F16 && d != DType::BF16 && d != DType::Q8_0) d = DType::F32;
  if (d == DType::Q8_0 && t.shape().last() % 32 != 0) d = DType::F16;
  return d;
}

// Every spec tensor of m under its GGUF name, in GGUF's layout and the requested type.
void add_tensors(const HfModel& m, const Architecture& a, const GgufSaveOptions& o,
                 io::TensorMap& out) {
  const DecoderConfig& c = m.config;
  for (const TensorSpec& s : a.tensors()) {
    for (int64_t l = 0; l < layer_count(s, c); ++l) {
      const Tensor* t = find_tensor(m.tensors, s, l, true);
      if (s.optional && (c.tied_head || t == nullptr)) continue;
      const std::string hf_name = tensor_name(s, l, true);
      if (t == nullptr) m.tensors.get(hf_name);  // throws: missing tensor, named
      if (t->shape() != s.hf_shape(c))
        m.tensors.fail("tensor '" + hf_name + "' has shape " + t->shape().str() + ", expected " +
                       s.hf_shape(c).str());
      Tensor g = s.hf_in_out || s.rope_heads != 0 ? convert_layout(*t, s, c, false) : *t;
      const DType d = out_type(*t, s, o);
      out.add(tensor_name(s, l, false), g.dtype() == d ? g : g.to(d));
    }
  }
}

// <arch>.rope.* keys and llama.cpp's rope_freqs tensor, for architectures that rotate q/k.
void add_rope(const DecoderConfig& c, const Architecture& a, io::TensorMap& out) {
  bool rope = false;
  for (const TensorSpec& s : a.tensors()) rope |= s.rope_heads != 0;
  if (!rope) return;
  const std::string p = std::string(a.name()) + ".rope.";
  out.set_meta(p + "freq_base", gguf_f32(c.rope.theta));
  out.set_meta(p + "dimension_count", gguf_u32(c.rope.rot_dim));
  if (c.rope.scaling == "linear") {
    out.set_meta(p + "scaling.type", io::MetaValue::of_string("linear"));
    out.set_meta(p + "scaling.factor", gguf_f32(static_cast<float>(c.rope.factor)));
  } else if (!c.rope.freq_factors.empty()) {
    // Llama 3 (or any per-pair divisors): llama.cpp's converter writes them as this tensor, with
    // no scaling type key.
    const auto& f = c.rope.freq_factors;
    Tensor t = Tensor::empty(Shape({static_cast<int64_t>(f.size())}));
    std::memcpy(t.data(), f.data(), f.size() * sizeof(float));
    out.add("rope_freqs.weight", std::move(t));
  }
}

void add_meta(const HfModel& m, const Architecture& a, const GgufSaveOptions& o,
              io::TensorMap& out) {
  const DecoderConfig& c = m.config;
  std::string name = o.name;
  if (name.empty()) {
    name = m.source;
    while (!name.empty() && name.back() == '/') name.pop_back();
    name = name.substr(name.find_last_of('/') + 1);
  }
  out.set_meta("general.architecture", io::MetaValue::of_string(a.name()));
  out.set_meta("general.name", io::MetaValue::of_string(name));
  out.set_meta("general.alignment", gguf_u32(32));
  out.set_meta("general.file_type", gguf_u32(file_type(out)));
  const std::string arch = std::string(a.name()) + ".";
  for (const HParam& p : a.hparams()) {
    if (p.gguf_key == nullptr) continue;
    out.set_meta(arch + p.gguf_key, p.i ? gguf_u32(c.*p.i) : gguf_f32(c.*p.f));
  }
  out.set_meta(arch + "vocab_size", gguf_u32(c.vocab_size));
  for (const auto& [key, value] : m.gguf_tokenizer) out.set_meta(key, value);
  if (c.bos_token_id >= 0 && !out.has_meta("tokenizer.ggml.bos_token_id"))
    out.set_meta("tokenizer.ggml.bos_token_id", gguf_u32(c.bos_token_id));
  if (c.eos_token_id >= 0 && !out.has_meta("tokenizer.ggml.eos_token_id"))
    out.set_meta("tokenizer.ggml.eos_token_id", gguf_u32(c.eos_token_id));
  for (const auto& [key, value] : o.meta) out.set_meta(key, value);
}

}  // namespace

io::TensorMap to_gguf(const HfModel& m, const GgufSaveOptions& options) {
  const Architecture& a = architecture(m.config.arch);
  const DecoderConfig& c = m.config;
  // An encoder's GGUF form (llama.cpp's bert keys, pooler and MLM head, RoBERTa's position
  // offset) is not written: refused rather than a file that computes another model.
  if (!a.causal())
    throw Error(m.source + ": GGUF export of " + a.name() +
                " (an encoder) is not supported; save a Hugging Face directory instead");
  // The GGUF reader derives the head size as dim / heads (llama.cpp would need
  // attention.key_length, which Loom does not read): such a file would compute another model.
  if (c.n_heads <= 0 || c.head_dim * c.n_heads != c.dim)
    throw Error(m.source + ": head size " + std::to_string(c.head_dim) +
                " is not the embedding size / heads (" + std::to_string(c.dim) + " / " +
                std::to_string(c.n_heads) + "); GGUF export needs head_dim = dim / heads");
  io::TensorMap out(m.source, "gguf");
  add_rope(c, a, out);
  add_tensors(m, a, options, out);
  add_meta(m, a, options, out);
  return out;
}

void save_gguf(const std::string& path, const HfModel& m, const GgufSaveOptions& options) {
  io::write_gguf(path, to_gguf(m, options));
}

void save_gguf(const std::string& path, CausalLm& model, const GgufSaveOptions& options) {
  HfModel m;
  m.source = path;
  m.config = model.config();
  m.config.rope.style = RopeStyle::HalfSplit;
  m.tensors = hf_tensors(model, path);
  save_gguf(path, m, options);
}

DType gguf_save_type(const std::string& name) {
  if (name == "f32") return DType::F32;
  if (name == "f16") return DType::F16;
  if (name == "q8_0") return DType::Q8_0;
  throw Error("GGUF tensor type '" + name + "' (expected f32, f16 or q8_0)");
}

}  // namespace loom::models
