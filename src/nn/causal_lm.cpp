#include "nn/causal_lm.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "core/error.h"
#include "core/rng.h"

namespace loom::nn {

namespace {
std::string layer_name(const CausalLmConfig& c, int64_t i, const char* rest) {
  return (c.arch == Arch::Gpt2 ? "transformer.h." : "model.layers.") + std::to_string(i) + "." +
         rest;
}
// Short LoRA target names -> the projection's module name inside a block.
std::string lora_module(Arch arch, const std::string& t) {
  if (arch == Arch::Llama) {
    for (const char* m : {"q", "k", "v", "o"})
      if (t == m || t == std::string(m) + "_proj" || t == std::string("self_attn.") + m + "_proj")
        return std::string("self_attn.") + m + "_proj";
    for (const char* m : {"gate", "up", "down"})
      if (t == m || t == std::string(m) + "_proj" || t == std::string("mlp.") + m + "_proj")
        return std::string("mlp.") + m + "_proj";
    throw Error("LoRA target '" + t + "': expected one of q, k, v, o, gate, up, down (Llama)");
  }
  if (t == "qkv" || t == "c_attn" || t == "attn.c_attn") return "attn.c_attn";
  if (t == "o" || t == "attn_proj" || t == "attn.c_proj") return "attn.c_proj";
  if (t == "fc" || t == "up" || t == "c_fc" || t == "mlp.c_fc") return "mlp.c_fc";
  if (t == "down" || t == "mlp_proj" || t == "mlp.c_proj") return "mlp.c_proj";
  throw Error("LoRA target '" + t +
              "': expected one of qkv, o, fc, down (GPT-2: q, k, v share c_attn)");
}
}  // namespace

void CausalLmConfig::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw Error("model config: " + what);
  };
  need(vocab_size > 0, "vocab_size must be > 0");
  need(max_seq > 0, "max_seq must be > 0");
  need(n_layers > 0, "n_layers must be > 0");
  need(n_heads > 0 && d_model % n_heads == 0, "d_model must be a multiple of n_heads");
  need(n_kv_heads > 0 && n_heads % n_kv_heads == 0, "n_heads must be a multiple of n_kv_heads");
  need(arch == Arch::Gpt2 || head_dim() % 2 == 0, "head_dim must be even for RoPE");
  need(d_ff > 0, "d_ff must be > 0");
  need(lora.rank >= 0, "lora rank must be >= 0");
  need(lora.rank == 0 || !lora.targets.empty(), "LoRA needs at least one target projection");
  need(lora.rank == 0 || lora.alpha > 0, "lora alpha must be > 0");
}

CausalLm::CausalLm(const CausalLmConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  const int64_t C = cfg.d_model, F = cfg.d_ff, V = cfg.vocab_size;
  if (cfg.arch == Arch::Gpt2) {
    cfg_.n_kv_heads = cfg.n_heads;
    cfg_.tie_embeddings = true;
    params_.add("transformer.wte.weight", Shape{V, C});
    params_.add("transformer.wpe.weight", Shape{cfg.max_seq, C});
    for (int64_t i = 0; i < cfg.n_layers; ++i) {
      params_.add(layer_name(cfg_, i, "ln_1.weight"), Shape{C});
      params_.add(layer_name(cfg_, i, "ln_1.bias"), Shape{C});
      params_.add(layer_name(cfg_, i, "attn.c_attn.weight"), Shape{C, 3 * C});
      params_.add(layer_name(cfg_, i, "attn.c_attn.bias"), Shape{3 * C});
      params_.add(layer_name(cfg_, i, "attn.c_proj.weight"), Shape{C, C});
      params_.add(layer_name(cfg_, i, "attn.c_proj.bias"), Shape{C});
      params_.add(layer_name(cfg_, i, "ln_2.weight"), Shape{C});
      params_.add(layer_name(cfg_, i, "ln_2.bias"), Shape{C});
      params_.add(layer_name(cfg_, i, "mlp.c_fc.weight"), Shape{C, F});
      params_.add(layer_name(cfg_, i, "mlp.c_fc.bias"), Shape{F});
      params_.add(layer_name(cfg_, i, "mlp.c_proj.weight"), Shape{F, C});
      params_.add(layer_name(cfg_, i, "mlp.c_proj.bias"), Shape{C});
    }
    params_.add("transformer.ln_f.weight", Shape{C});
    params_.add("transformer.ln_f.bias", Shape{C});
  } else {
    const int64_t KVD = cfg.n_kv_heads * cfg_.head_dim();
    params_.add("model.embed_tokens.weight", Shape{V, C});
    for (int64_t i = 0; i < cfg.n_layers; ++i) {
      params_.add(layer_name(cfg_, i, "input_layernorm.weight"), Shape{C});
      params_.add(layer_name(cfg_, i, "self_attn.q_proj.weight"), Shape{C, C});
      params_.add(layer_name(cfg_, i, "self_attn.k_proj.weight"), Shape{KVD, C});
      params_.add(layer_name(cfg_, i, "self_attn.v_proj.weight"), Shape{KVD, C});
      params_.add(layer_name(cfg_, i, "self_attn.o_proj.weight"), Shape{C, C});
      params_.add(layer_name(cfg_, i, "post_attention_layernorm.weight"), Shape{C});
      params_.add(layer_name(cfg_, i, "mlp.gate_proj.weight"), Shape{F, C});
      params_.add(layer_name(cfg_, i, "mlp.up_proj.weight"), Shape{F, C});
      params_.add(layer_name(cfg_, i, "mlp.down_proj.weight"), Shape{C, F});
    }
    params_.add("model.norm.weight", Shape{C});
    if (!cfg.tie_embeddings) params_.add("lm_head.weight", Shape{V, C});
  }
  if (cfg_.lora.rank > 0) {
    // (in, out) of every projection, then one adapter per layer and target after all base
    // parameters (so the base initialisation does not depend on LoRA).
    const int64_t KVD = cfg_.n_kv_heads * cfg_.head_dim();
    auto dims = [&](const std::string& m) -> std::pair<int64_t, int64_t> {
      if (m == "attn.c_attn") return {C, 3 * C};
      if (m == "self_attn.k_proj" || m == "self_attn.v_proj") return {C, KVD};
      if (m == "mlp.gate_proj" || m == "mlp.up_proj" || m == "mlp.c_fc") return {C, F};
      if (m == "mlp.down_proj" || m == "mlp.c_proj") return {F, C};
      return {C, C};  // q, o, attn.c_proj
    };
    std::vector<std::string> modules;
    for (const std::string& t : cfg_.lora.targets) {
      const std::string m = lora_module(cfg_.arch, t);
      for (const std::string& seen : modules)
        if (seen == m) throw Error("LoRA target '" + t + "' is given twice");
      modules.push_back(m);
    }
    cfg_.lora.targets = modules;
    const int64_t r = cfg_.lora.rank;
    for (int64_t i = 0; i < cfg_.n_layers; ++i)
      for (const std::string& m : modules) {
        const auto [in, out] = dims(m);
        const std::string base = layer_name(cfg_, i, m.c_str());
        LoraSite s{base + ".weight",
                   base + ".lora_A.weight",
                   base + ".lora_B.weight",
                   cfg_.arch == Arch::Gpt2 ? WeightLayout::InOut : WeightLayout::OutIn,
                   in,
                   out};
        params_.add(s.a, Shape{r, in});
        params_.add(s.b, Shape{out, r});
        lora_sites_.push_back(s);
      }
  }
  params_.finalize();
}

void CausalLm::init(uint64_t seed, float std) {
  Rng rng(seed);
  for (auto& p : params_.params()) {
    if (is_lora_param(p->name)) continue;
    float* v = p->value.f32();
    const bool is_norm =
        p->name.find("ln_") != std::string::npos || p->name.find("norm") != std::string::npos;
    const bool is_bias = p->name.size() > 5 && p->name.compare(p->name.size() - 5, 5, ".bias") == 0;
    for (int64_t i = 0; i < p->numel(); ++i)
      v[i] = is_bias ? 0.0f : is_norm ? 1.0f : rng.normal() * std;
  }
  init_lora(seed);
}

void CausalLm::init_lora(uint64_t seed) {
  Rng rng(seed ^ 0x4c6f5241ull);  // "LoRA"
  for (const LoraSite& s : lora_sites_) {
    Parameter& a = params_.get(s.a);
    const float bound = 1.0f / std::sqrt(static_cast<float>(s.in));
    float* av = a.value.f32();
    for (int64_t i = 0; i < a.numel(); ++i) av[i] = (2.0f * rng.uniform() - 1.0f) * bound;
    Parameter& b = params_.get(s.b);
    std::fill(b.value.f32(), b.value.f32() + b.numel(), 0.0f);
  }
}

bool CausalLm::is_lora_param(const std::string& name) const {
  return name.find(".lora_A.") != std::string::npos || name.find(".lora_B.") != std::string::npos;
}

std::vector<float> CausalLm::merged_value(const std::string& name) {
  Parameter& w = params_.get(name);
  std::vector<float> out(w.value.f32(), w.value.f32() + w.numel());
  for (const LoraSite& s : lora_sites_)
    if (s.weight == name)
      merge_lora(out.data(), s.layout, params_.get(s.a).value.f32(), params_.get(s.b).value.f32(),
                 s.out, s.in, cfg_.lora.rank, cfg_.lora.scale());
  return out;
}

Var CausalLm::proj(Tape& t, Var x, int64_t layer, const char* module, bool bias,
                   WeightLayout layout) {
  const std::string base = layer_name(cfg_, layer, module);
  Var w = p(t, base + ".weight");
  Var b = bias ? p(t, base + ".bias") : Var{};
  if (!lora_sites_.empty())
    if (Parameter* a = params_.find(base + ".lora_A.weight"))
      return lora_linear(t, x, w, b, layout, t.param(*a), p(t, base + ".lora_B.weight"),
                         cfg_.lora.scale());
  return linear(t, x, w, b, layout);
}

void CausalLm::exclude_norms_and_biases_from_decay() {
  for (auto& p : params_.params())
    if (p->shape.rank() == 1 || p->name == "transformer.wpe.weight") p->decay = false;
}

Var CausalLm::block(Tape& t, Var x, int64_t i, int64_t B, int64_t T) {
  const CausalLmConfig& c = cfg_;
  const int64_t C = c.d_model, H = c.n_heads, D = c.head_dim();
  auto L = [&](const char* rest) { return p(t, layer_name(c, i, rest)); };
  if (c.arch == Arch::Gpt2) {
    // x (N,C) -> x + attn(ln_1(x)) -> + mlp(ln_2(.))
    Var h = layernorm(t, x, L("ln_1.weight"), L("ln_1.bias"), c.norm_eps);
    Var qkv = proj(t, h, i, "attn.c_attn", true, WeightLayout::InOut);
    Var q = slice_cols(t, qkv, 0, C), k = slice_cols(t, qkv, C, C),
        v = slice_cols(t, qkv, 2 * C, C);
    Var a = causal_attention(t, q, k, v, B, T, H, H, D);
    a = proj(t, a, i, "attn.c_proj", true, WeightLayout::InOut);
    x = add(t, x, a);
    h = layernorm(t, x, L("ln_2.weight"), L("ln_2.bias"), c.norm_eps);
    Var f = proj(t, h, i, "mlp.c_fc", true, WeightLayout::InOut);
    f = gelu(t, f, GeluKind::Tanh);
    f = proj(t, f, i, "mlp.c_proj", true, WeightLayout::InOut);
    return add(t, x, f);
  }
  const int64_t KV = c.n_kv_heads;
  Var h = rmsnorm(t, x, L("input_layernorm.weight"), c.norm_eps);
  Var q = proj(t, h, i, "self_attn.q_proj", false, WeightLayout::OutIn);
  Var k = proj(t, h, i, "self_attn.k_proj", false, WeightLayout::OutIn);
  Var v = proj(t, h, i, "self_attn.v_proj", false, WeightLayout::OutIn);
  q = rope(t, q, B, T, H, D, D, c.rope_theta, RopeStyle::HalfSplit);
  k = rope(t, k, B, T, KV, D, D, c.rope_theta, RopeStyle::HalfSplit);
  Var a = causal_attention(t, q, k, v, B, T, H, KV, D);
  x = add(t, x, proj(t, a, i, "self_attn.o_proj", false, WeightLayout::OutIn));
  h = rmsnorm(t, x, L("post_attention_layernorm.weight"), c.norm_eps);
  Var g = proj(t, h, i, "mlp.gate_proj", false, WeightLayout::OutIn);
  Var u = proj(t, h, i, "mlp.up_proj", false, WeightLayout::OutIn);
  Var m = glu(t, g, u, GluKind::SwiGLU);
  return add(t, x, proj(t, m, i, "mlp.down_proj", false, WeightLayout::OutIn));
}

Var CausalLm::hidden(Tape& t, const int32_t* ids, int64_t B, int64_t T) {
  const CausalLmConfig& c = cfg_;
  if (T > c.max_seq)
    throw Error("model: sequence length " + std::to_string(T) + " exceeds max_seq " +
                std::to_string(c.max_seq));
  const bool gpt2 = c.arch == Arch::Gpt2;
  Parameter& emb = params_.get(gpt2 ? "transformer.wte.weight" : "model.embed_tokens.weight");
  Var wte = t.param(emb);
  Var x = embedding(t, wte, ids, B * T, emb.frozen_rows.empty() ? nullptr : emb.frozen_rows.data());
  if (gpt2) {
    std::vector<int32_t> pos(static_cast<size_t>(B * T));
    for (int64_t i = 0; i < B * T; ++i) pos[static_cast<size_t>(i)] = static_cast<int32_t>(i % T);
    Parameter& wpe = params_.get("transformer.wpe.weight");
    x = add(t, x,
            embedding(t, t.param(wpe), pos.data(), B * T,
                      wpe.frozen_rows.empty() ? nullptr : wpe.frozen_rows.data()));
  }
  for (int64_t i = 0; i < c.n_layers; ++i) x = block(t, x, i, B, T);
  if (gpt2)
    return layernorm(t, x, p(t, "transformer.ln_f.weight"), p(t, "transformer.ln_f.bias"),
                     c.norm_eps);
  return rmsnorm(t, x, p(t, "model.norm.weight"), c.norm_eps);
}

Var CausalLm::logits(Tape& t, const int32_t* ids, int64_t B, int64_t T) {
  Var x = hidden(t, ids, B, T);
  const bool gpt2 = cfg_.arch == Arch::Gpt2;
  Var wte = p(t, gpt2 ? "transformer.wte.weight" : "model.embed_tokens.weight");
  return linear(t, x, gpt2 || cfg_.tie_embeddings ? wte : p(t, "lm_head.weight"));
}

Var CausalLm::loss(Tape& t, const int32_t* ids, const int32_t* targets, int64_t B, int64_t T) {
  Var lg = logits(t, ids, B, T);
  return cross_entropy(t, lg, targets, B * T);
}

double CausalLm::forward_flops_per_token(int64_t T) const {
  const CausalLmConfig& c = cfg_;
  const double C = static_cast<double>(c.d_model), F = static_cast<double>(c.d_ff);
  const double KVD = static_cast<double>(c.n_kv_heads * c.head_dim());
  const double mlp = c.arch == Arch::Gpt2 ? 2 * C * F : 3 * C * F;
  const double proj = 2 * C * C + 2 * C * KVD;
  // attention: S = QKᵀ and PV over the full T×T block (as computed), per token: 2·T·C each.
  const double attn = 2.0 * 2.0 * static_cast<double>(T) * C;
  const double per_layer = 2 * (proj + mlp) + attn;
  return static_cast<double>(c.n_layers) * per_layer + 2 * C * static_cast<double>(c.vocab_size);
}

}  // namespace loom::nn
