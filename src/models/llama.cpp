// Llama (Llama 2/3): RMSNorm pre-norm, RoPE, grouped-query attention, SwiGLU FFN, tied or untied
// head. Hugging Face LlamaForCausalLM names + config.json (q/k rows half-split), or GGUF llama.*
// names and keys (also what the llama2.c reader produces; q/k rows in the interleaved RoPE order).
#include <cmath>

#include "models/decoder.h"

namespace loom::models {

namespace {

enum Role : int32_t {
  kTokenEmbd, kAttnNorm, kQ, kK, kV, kO, kFfnNorm, kGate, kUp, kDown, kOutputNorm, kOutput
};

Shape vocab_by_dim(const DecoderConfig& c) { return Shape({c.vocab_size, c.dim}); }
Shape dim_vec(const DecoderConfig& c) { return Shape({c.dim}); }
Shape q_shape(const DecoderConfig& c) { return Shape({c.n_heads * c.head_dim, c.dim}); }
Shape kv_shape(const DecoderConfig& c) { return Shape({c.n_kv_heads * c.head_dim, c.dim}); }
Shape o_shape(const DecoderConfig& c) { return Shape({c.dim, c.n_heads * c.head_dim}); }
Shape up_shape(const DecoderConfig& c) { return Shape({c.hidden_dim, c.dim}); }
Shape down_shape(const DecoderConfig& c) { return Shape({c.dim, c.hidden_dim}); }

constexpr auto M = TensorKind::Matrix;
constexpr auto V = TensorKind::Vector;

class Llama final : public Architecture {
 public:
  const char* name() const override { return "llama"; }
  const char* hf_class() const override { return "LlamaForCausalLM"; }

  const std::vector<HParam>& hparams() const override {
    static const std::vector<HParam> h = {
        {"hidden_size", "embedding_length", &DecoderConfig::dim},
        {"intermediate_size", "feed_forward_length", &DecoderConfig::hidden_dim},
        {"num_hidden_layers", "block_count", &DecoderConfig::n_layers},
        {"num_attention_heads", "attention.head_count", &DecoderConfig::n_heads},
        {"num_key_value_heads", "attention.head_count_kv", &DecoderConfig::n_kv_heads, nullptr,
         0, false},
        {"max_position_embeddings", "context_length", &DecoderConfig::context_length, nullptr,
         2048, false},
        {"rms_norm_eps", "attention.layer_norm_rms_epsilon", nullptr, &DecoderConfig::norm_eps, 0,
         false},
    };
    return h;
  }

  const std::vector<TensorSpec>& tensors() const override {
    static const std::vector<TensorSpec> t = {
        {"token_embd", "model.embed_tokens.weight", "token_embd.weight", false, M, false, false, 0,
         nullptr, vocab_by_dim},
        {"attn_norm", "model.layers.{L}.input_layernorm.weight", "blk.{L}.attn_norm.weight", true,
         V, false, false, 0, nullptr, dim_vec},
        {"attn_q", "model.layers.{L}.self_attn.q_proj.weight", "blk.{L}.attn_q.weight", true, M,
         false, false, 1, "q", q_shape},
        {"attn_k", "model.layers.{L}.self_attn.k_proj.weight", "blk.{L}.attn_k.weight", true, M,
         false, false, 2, "k", kv_shape},
        {"attn_v", "model.layers.{L}.self_attn.v_proj.weight", "blk.{L}.attn_v.weight", true, M,
         false, false, 0, "v", kv_shape},
        {"attn_output", "model.layers.{L}.self_attn.o_proj.weight", "blk.{L}.attn_output.weight",
         true, M, false, false, 0, "o", o_shape},
        {"ffn_norm", "model.layers.{L}.post_attention_layernorm.weight", "blk.{L}.ffn_norm.weight",
         true, V, false, false, 0, nullptr, dim_vec},
        {"ffn_gate", "model.layers.{L}.mlp.gate_proj.weight", "blk.{L}.ffn_gate.weight", true, M,
         false, false, 0, "gate", up_shape},
        {"ffn_up", "model.layers.{L}.mlp.up_proj.weight", "blk.{L}.ffn_up.weight", true, M, false,
         false, 0, "up", up_shape},
        {"ffn_down", "model.layers.{L}.mlp.down_proj.weight", "blk.{L}.ffn_down.weight", true, M,
         false, false, 0, "down", down_shape},
        {"output_norm", "model.norm.weight", "output_norm.weight", false, V, false, false, 0,
         nullptr, dim_vec},
        {"output", "lm_head.weight", "output.weight", false, M, true, false, 0, nullptr,
         vocab_by_dim},
    };
    return t;
  }

  void finish_config(DecoderConfig& c, const io::TensorMap& map, bool hf) const override {
    if (c.n_kv_heads == 0) c.n_kv_heads = c.n_heads;
    if (c.norm_eps == 0) c.norm_eps = hf ? 1e-6f : 1e-5f;
    if (c.n_heads <= 0) map.fail("head count in 1..2^24, got " + std::to_string(c.n_heads));
    c.head_dim = hf ? map.meta_int("config.head_dim", c.dim / c.n_heads) : c.dim / c.n_heads;
    if (c.head_dim <= 0 || c.head_dim > (1 << 24) || c.head_dim % 2 != 0)
      map.fail("head size even for RoPE and in 1..2^24, got " + std::to_string(c.head_dim));
    c.rope.theta = static_cast<float>(
        map.meta_float(hf ? "config.rope_theta" : "llama.rope.freq_base", 10000.0));
    c.rope.style = hf ? RopeStyle::HalfSplit : RopeStyle::Interleaved;
    c.rope.rot_dim = hf ? c.head_dim : map.meta_int("llama.rope.dimension_count", c.head_dim);
    if (c.rope.rot_dim <= 0 || c.rope.rot_dim > c.head_dim || c.rope.rot_dim % 2)
      map.fail("rope dimension count even and at most the head size " +
               std::to_string(c.head_dim));
    read_rope_scaling(map, "llama", hf, c.rope);
    const std::string head = hf ? "lm_head.weight" : "output.weight";
    const bool tie = hf ? map.meta_bool("config.tie_word_embeddings", !map.has(head))
                        : !map.has(head);
    c.tied_head = tie || !map.has(head);
    // LlamaMLP computes act(gate) * up with ACT2FN[hidden_act]; only SiLU is implemented here,
    // and running another activation as SiLU would be silently wrong.
    if (c.bos_token_id < 0) c.bos_token_id = 1;  // Llama's <s> and </s>
    if (c.eos_token_id < 0) c.eos_token_id = 2;
    c.hidden_act = hf ? map.meta_string("config.hidden_act", "silu") : "silu";
    if (c.hidden_act != "silu")
      map.fail("config.json hidden_act '" + c.hidden_act + "' is not supported for llama (silu is)");
  }

  void normalize(DecoderConfig& c) const override {
    if (c.n_kv_heads == 0) c.n_kv_heads = c.n_heads;
    if (c.head_dim == 0 && c.n_heads > 0) c.head_dim = c.dim / c.n_heads;
    if (c.rope.rot_dim == 0) c.rope.rot_dim = c.head_dim;
    if (c.hidden_act.empty()) c.hidden_act = "silu";
    if (c.hidden_dim == 0) c.hidden_dim = (8 * c.dim / 3 + 31) / 32 * 32;  // 8/3 d, rounded up
  }

  std::vector<std::string> default_lora_targets() const override { return {"q", "v"}; }

  void write_config(const DecoderConfig& c, nlohmann::ordered_json& j) const override {
    if (c.head_dim * c.n_heads != c.dim) j["head_dim"] = c.head_dim;
    j["hidden_act"] = "silu";
    j["rope_theta"] = json_float(c.rope.theta);
    j["attention_bias"] = false;
  }

  Act hidden(Ops& o, const DecoderConfig& c) const override {
    Act x = o.embed_tokens({kTokenEmbd});
    const AttentionShape s{c.n_heads, c.n_kv_heads, c.head_dim, true};
    for (int32_t l = 0; l < c.n_layers; ++l) {
      auto w = [l](int32_t role) { return Wt{role, l}; };
      // x (n, C) -> x + attn(rmsnorm(x)) -> + mlp(rmsnorm(.))
      Act h = o.norm(x, w(kAttnNorm), {}, NormKind::RMS, c.norm_eps);
      Acts qkv = o.linears(h, {w(kQ), w(kK), w(kV)});
      Act q = o.rope(qkv[0], c.n_heads, c.rope);
      Act k = o.rope(qkv[1], c.n_kv_heads, c.rope);
      x = o.add(x, o.linear(o.attention(l, q, k, qkv[2], s), w(kO)));
      h = o.norm(x, w(kFfnNorm), {}, NormKind::RMS, c.norm_eps);
      Acts gu = o.linears(h, {w(kGate), w(kUp)});
      x = o.add(x, o.linear(o.glu(gu[0], gu[1], GluKind::SwiGLU), w(kDown)));
      x = o.end_block(x);
    }
    return o.norm(o.output_rows(x), {kOutputNorm}, {}, NormKind::RMS, c.norm_eps);
  }

  Act logits(Ops& o, const DecoderConfig& c, Act hidden) const override {
    return o.linear(hidden, c.tied_head ? Wt{kTokenEmbd} : Wt{kOutput});
  }

  double forward_flops_per_token(const DecoderConfig& c, int64_t seq) const override {
    const double C = static_cast<double>(c.dim), F = static_cast<double>(c.hidden_dim);
    const double QD = static_cast<double>(c.n_heads * c.head_dim);
    const double KVD = static_cast<double>(c.n_kv_heads * c.head_dim);
    const double proj = 2 * C * QD + 2 * C * KVD, mlp = 3 * C * F;
    // attention: S = QKᵀ and PV over the full T×T block (as computed), per token 2·T·QD each.
    const double attn = 2.0 * 2.0 * static_cast<double>(seq) * QD;
    return static_cast<double>(c.n_layers) * (2 * (proj + mlp) + attn) +
           2 * C * static_cast<double>(c.vocab_size);
  }
};

}  // namespace

const Architecture& llama_architecture() {
  static const Llama a;
  return a;
}

}  // namespace loom::models
