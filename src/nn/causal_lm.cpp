#include "nn/causal_lm.h"

#include <string>

#include "core/error.h"
#include "core/rng.h"

namespace loom::nn {

namespace {
std::string layer_name(const CausalLmConfig& c, int64_t i, const char* rest) {
  return (c.arch == Arch::Gpt2 ? "transformer.h." : "model.layers.") + std::to_string(i) + "." +
         rest;
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
  params_.finalize();
}

void CausalLm::init(uint64_t seed, float std) {
  Rng rng(seed);
  for (auto& p : params_.params()) {
    float* v = p->value.f32();
    const bool is_norm =
        p->name.find("ln_") != std::string::npos || p->name.find("norm") != std::string::npos;
    const bool is_bias = p->name.size() > 5 && p->name.compare(p->name.size() - 5, 5, ".bias") == 0;
    for (int64_t i = 0; i < p->numel(); ++i)
      v[i] = is_bias ? 0.0f : is_norm ? 1.0f : rng.normal() * std;
  }
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
    Var qkv = linear(t, h, L("attn.c_attn.weight"), L("attn.c_attn.bias"), WeightLayout::InOut);
    Var q = slice_cols(t, qkv, 0, C), k = slice_cols(t, qkv, C, C),
        v = slice_cols(t, qkv, 2 * C, C);
    Var a = causal_attention(t, q, k, v, B, T, H, H, D);
    a = linear(t, a, L("attn.c_proj.weight"), L("attn.c_proj.bias"), WeightLayout::InOut);
    x = add(t, x, a);
    h = layernorm(t, x, L("ln_2.weight"), L("ln_2.bias"), c.norm_eps);
    Var f = linear(t, h, L("mlp.c_fc.weight"), L("mlp.c_fc.bias"), WeightLayout::InOut);
    f = gelu(t, f, GeluKind::Tanh);
    f = linear(t, f, L("mlp.c_proj.weight"), L("mlp.c_proj.bias"), WeightLayout::InOut);
    return add(t, x, f);
  }
  const int64_t KV = c.n_kv_heads;
  Var h = rmsnorm(t, x, L("input_layernorm.weight"), c.norm_eps);
  Var q = linear(t, h, L("self_attn.q_proj.weight"));
  Var k = linear(t, h, L("self_attn.k_proj.weight"));
  Var v = linear(t, h, L("self_attn.v_proj.weight"));
  q = rope(t, q, B, T, H, D, D, c.rope_theta, RopeStyle::HalfSplit);
  k = rope(t, k, B, T, KV, D, D, c.rope_theta, RopeStyle::HalfSplit);
  Var a = causal_attention(t, q, k, v, B, T, H, KV, D);
  x = add(t, x, linear(t, a, L("self_attn.o_proj.weight")));
  h = rmsnorm(t, x, L("post_attention_layernorm.weight"), c.norm_eps);
  Var g = linear(t, h, L("mlp.gate_proj.weight"));
  Var u = linear(t, h, L("mlp.up_proj.weight"));
  Var m = glu(t, g, u, GluKind::SwiGLU);
  return add(t, x, linear(t, m, L("mlp.down_proj.weight")));
}

Var CausalLm::logits(Tape& t, const int32_t* ids, int64_t B, int64_t T) {
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
  if (gpt2) {
    x = layernorm(t, x, p(t, "transformer.ln_f.weight"), p(t, "transformer.ln_f.bias"), c.norm_eps);
    return linear(t, x, wte);
  }
  x = rmsnorm(t, x, p(t, "model.norm.weight"), c.norm_eps);
  return linear(t, x, c.tie_embeddings ? wte : p(t, "lm_head.weight"));
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
