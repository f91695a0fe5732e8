// GPT-2: learned absolute positions, LayerNorm pre-norm with biases, fused QKV projection,
// GELU (tanh) FFN, head tied to the token embedding. Reads GGUF gpt2.* names/metadata or Hugging
// Face GPT2LMHeadModel names + config.json, whose Conv1D weights are stored (in, out) and are
// transposed at load.
#include "models/loader_util.h"
#include "models/transformer.h"

namespace loom::models {

std::shared_ptr<const Model> build_gpt2(io::TensorMap map) {
  const bool gguf = map.has("token_embd.weight");
  std::string pre = "";
  if (!gguf && map.has("transformer.wte.weight")) pre = "transformer.";
  TransformerConfig c;
  c.arch = "gpt2";
  if (gguf) {
    c.dim = map.meta_int("gpt2.embedding_length");
    c.n_layers = map.meta_int("gpt2.block_count");
    c.n_heads = map.meta_int("gpt2.attention.head_count");
    c.context_length = map.meta_int("gpt2.context_length");
    c.hidden_dim = map.meta_int("gpt2.feed_forward_length", 4 * c.dim);
    c.norm_eps = static_cast<float>(map.meta_float("gpt2.attention.layer_norm_epsilon", 1e-5));
  } else {
    c.dim = map.meta_int("config.n_embd");
    c.n_layers = map.meta_int("config.n_layer");
    c.n_heads = map.meta_int("config.n_head");
    c.context_length = map.meta_int("config.n_positions", 1024);
    c.hidden_dim = map.meta_int("config.n_inner", 4 * c.dim);
    c.norm_eps = static_cast<float>(map.meta_float("config.layer_norm_epsilon", 1e-5));
  }
  auto positive = [&](int64_t v, const char* what) {
    if (v <= 0 || v > (1 << 24))
      map.fail(std::string(what) + " in 1..2^24, got " + std::to_string(v));
  };
  positive(c.dim, "embedding size");
  positive(c.hidden_dim, "feed-forward size");
  positive(c.n_layers, "layer count");
  positive(c.n_heads, "head count");
  positive(c.context_length, "context length");
  if (c.dim % c.n_heads != 0) map.fail("embedding size a multiple of the head count");
  c.n_kv_heads = c.n_heads;
  c.head_dim = c.dim / c.n_heads;
  c.norm = NormKind::Layer;
  c.ffn = FfnKind::Gelu;
  c.use_rope = false;
  c.learned_positions = true;

  const std::string embd = gguf ? "token_embd.weight" : pre + "wte.weight";
  const Tensor& te = map.get(embd);
  if (te.shape().rank() != 2 || te.shape()[1] != c.dim) {
    map.fail("tensor '" + embd + "' has shape " + te.shape().str() + ", expected (vocab, " +
             std::to_string(c.dim) + ")");
  }
  c.vocab_size = te.shape()[0];
  detail::WeightFetcher f(map);
  TensorView token_embd = f.matrix(embd, Shape({c.vocab_size, c.dim}));
  TensorView pos_embd = f.matrix(gguf ? "position_embd.weight" : pre + "wpe.weight",
                                 Shape({c.context_length, c.dim}));
  const int64_t d = c.dim, hd = c.hidden_dim;
  std::vector<LayerWeights> layers;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p =
        gguf ? "blk." + std::to_string(l) + "." : pre + "h." + std::to_string(l) + ".";
    auto name = [&](const char* g, const char* h) { return p + (gguf ? g : h); };
    LayerWeights w;
    w.attn_norm = {NormKind::Layer, f.vector(name("attn_norm.weight", "ln_1.weight"), d),
                   f.vector(name("attn_norm.bias", "ln_1.bias"), d), c.norm_eps};
    w.ffn_norm = {NormKind::Layer, f.vector(name("ffn_norm.weight", "ln_2.weight"), d),
                  f.vector(name("ffn_norm.bias", "ln_2.bias"), d), c.norm_eps};
    TensorView qkv = gguf ? f.matrix(name("attn_qkv.weight", ""), Shape({3 * d, d}))
                          : f.transposed(name("", "attn.c_attn.weight"), d, 3 * d);
    TensorView qkv_b = f.vector(name("attn_qkv.bias", "attn.c_attn.bias"), 3 * d);
    // Row blocks of the fused projection: q, k, v.
    auto rows = [&](const TensorView& t, int64_t r0) {
      return TensorView(static_cast<char*>(t.data()) + r0 * t.row_bytes(), t.dtype(),
                        Shape({d, d}));
    };
    auto part = [&](const TensorView& b, int64_t i) {
      return TensorView(b.as<float>() + i * d, DType::F32, Shape({d}));
    };
    w.wq = rows(qkv, 0);
    w.wk = rows(qkv, d);
    w.wv = rows(qkv, 2 * d);
    w.bq = part(qkv_b, 0);
    w.bk = part(qkv_b, 1);
    w.bv = part(qkv_b, 2);
    w.wo = gguf ? f.matrix(name("attn_output.weight", ""), Shape({d, d}))
                : f.transposed(name("", "attn.c_proj.weight"), d, d);
    w.bo = f.vector(name("attn_output.bias", "attn.c_proj.bias"), d);
    w.ffn.kind = FfnKind::Gelu;
    w.ffn.up = gguf ? f.matrix(name("ffn_up.weight", ""), Shape({hd, d}))
                    : f.transposed(name("", "mlp.c_fc.weight"), d, hd);
    w.ffn.up_bias = f.vector(name("ffn_up.bias", "mlp.c_fc.bias"), hd);
    w.ffn.down = gguf ? f.matrix(name("ffn_down.weight", ""), Shape({d, hd}))
                      : f.transposed(name("", "mlp.c_proj.weight"), hd, d);
    w.ffn.down_bias = f.vector(name("ffn_down.bias", "mlp.c_proj.bias"), d);
    layers.push_back(w);
  }
  Norm final_norm{NormKind::Layer, f.vector(gguf ? "output_norm.weight" : pre + "ln_f.weight", d),
                  f.vector(gguf ? "output_norm.bias" : pre + "ln_f.bias", d), c.norm_eps};
  const std::string head_name = gguf ? "output.weight" : "lm_head.weight";
  c.tied_head = !map.has(head_name);
  TensorView head = c.tied_head ? token_embd : f.matrix(head_name, Shape({c.vocab_size, d}));
  std::vector<Tensor> owned = f.take_owned();
  return std::make_shared<const Model>(c, std::move(map), std::move(owned), token_embd, pos_embd,
                                       std::move(layers), final_norm, head, TensorView());
}

}  // namespace loom::models
