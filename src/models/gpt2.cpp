// GPT-2: learned absolute positions, LayerNorm pre-norm with biases, fused QKV projection,
// GELU (tanh) FFN, head tied to the token embedding. Hugging Face GPT2LMHeadModel names +
// config.json (Conv1D weights stored (in, out); the "transformer." prefix may be missing), or
// GGUF gpt2.* names and keys.
#include "models/decoder.h"

namespace loom::models {

namespace {

enum Role : int32_t {
  kTokenEmbd, kPosEmbd, kAttnNorm, kAttnNormB, kQkv, kQkvB, kO, kOB, kFfnNorm, kFfnNormB, kUp,
  kUpB, kDown, kDownB, kOutputNorm, kOutputNormB, kOutput
};

Shape vocab_by_dim(const DecoderConfig& c) { return Shape({c.vocab_size, c.dim}); }
Shape pos_by_dim(const DecoderConfig& c) { return Shape({c.context_length, c.dim}); }
Shape dim_vec(const DecoderConfig& c) { return Shape({c.dim}); }
Shape qkv_shape(const DecoderConfig& c) { return Shape({c.dim, 3 * c.dim}); }  // (in, out)
Shape qkv_vec(const DecoderConfig& c) { return Shape({3 * c.dim}); }
Shape o_shape(const DecoderConfig& c) { return Shape({c.dim, c.dim}); }
Shape fc_shape(const DecoderConfig& c) { return Shape({c.dim, c.hidden_dim}); }
Shape fc_vec(const DecoderConfig& c) { return Shape({c.hidden_dim}); }
Shape proj_shape(const DecoderConfig& c) { return Shape({c.hidden_dim, c.dim}); }

constexpr auto M = TensorKind::Matrix;
constexpr auto V = TensorKind::Vector;

class Gpt2 final : public Architecture {
 public:
  const char* name() const override { return "gpt2"; }
  const char* hf_class() const override { return "GPT2LMHeadModel"; }

  const std::vector<HParam>& hparams() const override {
    static const std::vector<HParam> h = {
        {"n_embd", "embedding_length", &DecoderConfig::dim},
        {"n_layer", "block_count", &DecoderConfig::n_layers},
        {"n_head", "attention.head_count", &DecoderConfig::n_heads},
        {"n_positions", "context_length", &DecoderConfig::context_length, nullptr, 1024, false},
        {"n_inner", "feed_forward_length", &DecoderConfig::hidden_dim, nullptr, 0, false},
        {"layer_norm_epsilon", "attention.layer_norm_epsilon", nullptr, &DecoderConfig::norm_eps,
         1e-5, false},
    };
    return h;
  }

  const std::vector<TensorSpec>& tensors() const override {
    static const std::vector<TensorSpec> t = {
        {"token_embd", "transformer.wte.weight", "token_embd.weight", false, M, false, false, 0,
         nullptr, vocab_by_dim},
        {"position_embd", "transformer.wpe.weight", "position_embd.weight", false, M, false, false,
         0, nullptr, pos_by_dim},
        {"attn_norm", "transformer.h.{L}.ln_1.weight", "blk.{L}.attn_norm.weight", true, V, false,
         false, 0, nullptr, dim_vec},
        {"attn_norm_b", "transformer.h.{L}.ln_1.bias", "blk.{L}.attn_norm.bias", true, V, false,
         false, 0, nullptr, dim_vec},
        {"attn_qkv", "transformer.h.{L}.attn.c_attn.weight", "blk.{L}.attn_qkv.weight", true, M,
         false, true, 0, "qkv", qkv_shape},
        {"attn_qkv_b", "transformer.h.{L}.attn.c_attn.bias", "blk.{L}.attn_qkv.bias", true, V,
         false, false, 0, nullptr, qkv_vec},
        {"attn_output", "transformer.h.{L}.attn.c_proj.weight", "blk.{L}.attn_output.weight", true,
         M, false, true, 0, "o|attn_proj", o_shape},
        {"attn_output_b", "transformer.h.{L}.attn.c_proj.bias", "blk.{L}.attn_output.bias", true,
         V, false, false, 0, nullptr, dim_vec},
        {"ffn_norm", "transformer.h.{L}.ln_2.weight", "blk.{L}.ffn_norm.weight", true, V, false,
         false, 0, nullptr, dim_vec},
        {"ffn_norm_b", "transformer.h.{L}.ln_2.bias", "blk.{L}.ffn_norm.bias", true, V, false,
         false, 0, nullptr, dim_vec},
        {"ffn_up", "transformer.h.{L}.mlp.c_fc.weight", "blk.{L}.ffn_up.weight", true, M, false,
         true, 0, "fc|up", fc_shape},
        {"ffn_up_b", "transformer.h.{L}.mlp.c_fc.bias", "blk.{L}.ffn_up.bias", true, V, false,
         false, 0, nullptr, fc_vec},
        {"ffn_down", "transformer.h.{L}.mlp.c_proj.weight", "blk.{L}.ffn_down.weight", true, M,
         false, true, 0, "down|mlp_proj", proj_shape},
        {"ffn_down_b", "transformer.h.{L}.mlp.c_proj.bias", "blk.{L}.ffn_down.bias", true, V,
         false, false, 0, nullptr, dim_vec},
        {"output_norm", "transformer.ln_f.weight", "output_norm.weight", false, V, false, false, 0,
         nullptr, dim_vec},
        {"output_norm_b", "transformer.ln_f.bias", "output_norm.bias", false, V, false, false, 0,
         nullptr, dim_vec},
        {"output", "lm_head.weight", "output.weight", false, M, true, false, 0, nullptr,
         vocab_by_dim},
    };
    return t;
  }

  void finish_config(DecoderConfig& c, const io::TensorMap& map, bool hf) const override {
    if (c.hidden_dim == 0) c.hidden_dim = 4 * c.dim;
    if (c.n_heads <= 0 || c.dim % c.n_heads != 0)
      map.fail("embedding size a multiple of the head count");
    c.n_kv_heads = c.n_heads;
    c.head_dim = c.dim / c.n_heads;
    // GPT-2 ties its head unless config.json says otherwise (a saved lm_head.weight is then a
    // copy of the embedding).
    c.tied_head = hf ? map.meta_bool("config.tie_word_embeddings", true) || !map.has("lm_head.weight")
                     : !map.has("output.weight");
    if (c.bos_token_id < 0) c.bos_token_id = 50256;  // <|endoftext|>
    if (c.eos_token_id < 0) c.eos_token_id = 50256;
    c.hidden_act = hf ? map.meta_string("config.activation_function", "gelu_new") : "gelu_new";
    if (c.hidden_act != "gelu_new" && c.hidden_act != "gelu_pytorch_tanh")
      map.fail("config.json activation_function '" + c.hidden_act +
               "' is not supported for gpt2 (gelu_new and gelu_pytorch_tanh are)");
  }

  void normalize(DecoderConfig& c) const override {
    c.n_kv_heads = c.n_heads;
    if (c.n_heads > 0) c.head_dim = c.dim / c.n_heads;
    if (c.hidden_dim == 0) c.hidden_dim = 4 * c.dim;
    if (c.hidden_act.empty()) c.hidden_act = "gelu_new";
    c.tied_head = true;  // GPT2LMHeadModel ties its head
  }

  std::vector<std::string> default_lora_targets() const override { return {"qkv", "o"}; }

  void write_config(const DecoderConfig& c, nlohmann::ordered_json& j) const override {
    j["n_ctx"] = c.context_length;
    j["activation_function"] = c.hidden_act.empty() ? "gelu_new" : c.hidden_act;
  }

  Act hidden(Ops& o, const DecoderConfig& c) const override {
    Act x = o.add_positions(o.embed_tokens({kTokenEmbd}), {kPosEmbd});
    const int64_t C = c.dim;
    const AttentionShape s{c.n_heads, c.n_heads, c.head_dim, true};
    for (int32_t l = 0; l < c.n_layers; ++l) {
      auto w = [l](int32_t role) { return Wt{role, l}; };
      // x (n, C) -> x + attn(ln_1(x)) -> + mlp(ln_2(.))
      Act h = o.norm(x, w(kAttnNorm), w(kAttnNormB), NormKind::Layer, c.norm_eps);
      Act qkv = o.linear(h, w(kQkv), w(kQkvB));
      Act a = o.attention(l, o.slice_cols(qkv, 0, C), o.slice_cols(qkv, C, C),
                          o.slice_cols(qkv, 2 * C, C), s);
      x = o.add(x, o.linear(a, w(kO), w(kOB)));
      h = o.norm(x, w(kFfnNorm), w(kFfnNormB), NormKind::Layer, c.norm_eps);
      Act f = o.activation(o.linear(h, w(kUp), w(kUpB)), Activation::GeluTanh);
      x = o.add(x, o.linear(f, w(kDown), w(kDownB)));
      x = o.end_block(x);
    }
    return o.norm(o.output_rows(x), {kOutputNorm}, {kOutputNormB}, NormKind::Layer, c.norm_eps);
  }

  Act logits(Ops& o, const DecoderConfig& c, Act hidden) const override {
    return o.linear(hidden, c.tied_head ? Wt{kTokenEmbd} : Wt{kOutput});
  }

  double forward_flops_per_token(const DecoderConfig& c, int64_t seq) const override {
    const double C = static_cast<double>(c.dim), F = static_cast<double>(c.hidden_dim);
    const double proj = 4 * C * C, mlp = 2 * C * F;
    const double attn = 2.0 * 2.0 * static_cast<double>(seq) * C;
    return static_cast<double>(c.n_layers) * (2 * (proj + mlp) + attn) +
           2 * C * static_cast<double>(c.vocab_size);
  }
};

}  // namespace

const Architecture& gpt2_architecture() {
  static const Gpt2 a;
  return a;
}

}  // namespace loom::models
