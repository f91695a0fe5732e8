// Llama (Llama 2/3 style): RMSNorm pre-norm, RoPE, grouped-query attention, SwiGLU FFN, tied or
// untied head. Reads GGUF names/metadata (and the llama2.c reader's, which uses them; q/k rows in
// the interleaved RoPE order) or Hugging Face LlamaForCausalLM names + config.json (half-split).
#include <cmath>
#include <string>
#include <vector>

#include "models/loader_util.h"
#include "models/transformer.h"

namespace loom::models {

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

// Rope scaling from config.json's rope_scaling (rope_type linear or llama3) or GGUF's
// llama.rope.scaling.* keys and rope_freqs tensor. Other kinds (yarn, dynamic, longrope) would
// give silently wrong outputs, so they are refused.
void read_rope_scaling(const io::TensorMap& map, bool hf, Rope& rope) {
  const int64_t half = rope.rot_dim / 2;
  std::string type;
  double factor = 1;
  if (hf) {
    type = map.meta_string("config.rope_scaling.rope_type",
                           map.meta_string("config.rope_scaling.type", ""));
    factor = map.meta_float("config.rope_scaling.factor", 1.0);
  } else {
    type = map.meta_string("llama.rope.scaling.type", "");
    factor = map.meta_float("llama.rope.scaling.factor", 1.0);
    if (const Tensor* t = map.find("rope_freqs.weight")) {
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
      if (type.empty() || type == "none" || type == "llama3") return;
    }
  }
  if (type.empty() || type == "default" || type == "none") return;
  if (!(factor > 0) || !std::isfinite(factor))
    map.fail("rope scaling factor must be positive, got " + std::to_string(factor));
  if (type == "linear") {
    rope.freq_factors.assign(static_cast<size_t>(half), static_cast<float>(factor));
  } else if (type == "llama3" && hf) {
    const double low = map.meta_float("config.rope_scaling.low_freq_factor", 1.0);
    const double high = map.meta_float("config.rope_scaling.high_freq_factor", 4.0);
    const double orig = map.meta_float("config.rope_scaling.original_max_position_embeddings", 8192);
    if (!(low > 0) || !(high > low) || !(orig > 0))
      map.fail("rope_scaling llama3: need 0 < low_freq_factor < high_freq_factor and "
               "original_max_position_embeddings > 0");
    rope.freq_factors = llama3_rope_factors(rope.theta, rope.rot_dim, factor, low, high, orig);
  } else {
    map.fail("rope scaling '" + type + "' is not supported (linear and llama3 are)");
  }
}

}  // namespace

std::shared_ptr<const Model> build_llama(io::TensorMap map) {
  const bool hf = !map.has("token_embd.weight") && map.has("model.embed_tokens.weight");
  TransformerConfig c;
  c.arch = "llama";
  if (hf) {
    c.dim = map.meta_int("config.hidden_size");
    c.hidden_dim = map.meta_int("config.intermediate_size");
    c.n_layers = map.meta_int("config.num_hidden_layers");
    c.n_heads = map.meta_int("config.num_attention_heads");
    c.n_kv_heads = map.meta_int("config.num_key_value_heads", c.n_heads);
    c.context_length = map.meta_int("config.max_position_embeddings", 2048);
    c.norm_eps = static_cast<float>(map.meta_float("config.rms_norm_eps", 1e-6));
    c.rope.theta = static_cast<float>(map.meta_float("config.rope_theta", 10000.0));
    c.rope.style = RopeStyle::HalfSplit;
    c.head_dim = map.meta_int("config.head_dim", c.n_heads > 0 ? c.dim / c.n_heads : 0);
  } else {
    c.dim = map.meta_int("llama.embedding_length");
    c.hidden_dim = map.meta_int("llama.feed_forward_length");
    c.n_layers = map.meta_int("llama.block_count");
    c.n_heads = map.meta_int("llama.attention.head_count");
    c.n_kv_heads = map.meta_int("llama.attention.head_count_kv", c.n_heads);
    c.context_length = map.meta_int("llama.context_length", 2048);
    c.norm_eps = static_cast<float>(map.meta_float("llama.attention.layer_norm_rms_epsilon", 1e-5));
    c.rope.theta = static_cast<float>(map.meta_float("llama.rope.freq_base", 10000.0));
    c.rope.style = RopeStyle::Interleaved;
    c.head_dim = c.n_heads > 0 ? c.dim / c.n_heads : 0;
  }
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
  if (c.n_heads % c.n_kv_heads != 0) {
    map.fail("head count " + std::to_string(c.n_heads) +
             " a multiple of the key/value head count " + std::to_string(c.n_kv_heads));
  }
  if (c.head_dim % 2 != 0) map.fail("head size even for RoPE, got " + std::to_string(c.head_dim));
  c.rope.head_dim = c.head_dim;
  c.rope.rot_dim = hf ? c.head_dim : map.meta_int("llama.rope.dimension_count", c.head_dim);
  if (c.rope.rot_dim <= 0 || c.rope.rot_dim > c.head_dim || c.rope.rot_dim % 2) {
    map.fail("rope dimension count even and at most the head size " + std::to_string(c.head_dim));
  }
  read_rope_scaling(map, hf, c.rope);
  c.norm = NormKind::RMS;
  c.ffn = FfnKind::SwiGLU;
  c.use_rope = true;

  const std::string embd = hf ? "model.embed_tokens.weight" : "token_embd.weight";
  const Tensor& te = map.get(embd);
  if (te.shape().rank() != 2 || te.shape()[1] != c.dim) {
    map.fail("tensor '" + embd + "' has shape " + te.shape().str() + ", expected (vocab, " +
             std::to_string(c.dim) + ")");
  }
  c.vocab_size = te.shape()[0];
  detail::WeightFetcher f(map);
  TensorView token_embd = f.matrix(embd, Shape({c.vocab_size, c.dim}));

  const int64_t qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim;
  std::vector<LayerWeights> layers;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p =
        hf ? "model.layers." + std::to_string(l) + "." : "blk." + std::to_string(l) + ".";
    auto name = [&](const char* gguf, const char* hfn) { return p + (hf ? hfn : gguf); };
    LayerWeights w;
    w.attn_norm = {NormKind::RMS,
                   f.vector(name("attn_norm.weight", "input_layernorm.weight"), c.dim),
                   {},
                   c.norm_eps};
    w.ffn_norm = {NormKind::RMS,
                  f.vector(name("ffn_norm.weight", "post_attention_layernorm.weight"), c.dim),
                  {},
                  c.norm_eps};
    w.wq = f.matrix(name("attn_q.weight", "self_attn.q_proj.weight"), Shape({qd, c.dim}));
    w.wk = f.matrix(name("attn_k.weight", "self_attn.k_proj.weight"), Shape({kvd, c.dim}));
    w.wv = f.matrix(name("attn_v.weight", "self_attn.v_proj.weight"), Shape({kvd, c.dim}));
    w.wo = f.matrix(name("attn_output.weight", "self_attn.o_proj.weight"), Shape({c.dim, qd}));
    w.ffn.kind = FfnKind::SwiGLU;
    w.ffn.gate =
        f.matrix(name("ffn_gate.weight", "mlp.gate_proj.weight"), Shape({c.hidden_dim, c.dim}));
    w.ffn.up = f.matrix(name("ffn_up.weight", "mlp.up_proj.weight"), Shape({c.hidden_dim, c.dim}));
    w.ffn.down =
        f.matrix(name("ffn_down.weight", "mlp.down_proj.weight"), Shape({c.dim, c.hidden_dim}));
    layers.push_back(w);
  }
  Norm final_norm{NormKind::RMS,
                  f.vector(hf ? "model.norm.weight" : "output_norm.weight", c.dim),
                  {},
                  c.norm_eps};
  const std::string head_name = hf ? "lm_head.weight" : "output.weight";
  const bool tie =
      hf ? map.meta_bool("config.tie_word_embeddings", !map.has(head_name)) : !map.has(head_name);
  c.tied_head = tie || !map.has(head_name);
  TensorView head = c.tied_head ? token_embd : f.matrix(head_name, Shape({c.vocab_size, c.dim}));
  std::vector<Tensor> owned = f.take_owned();
  return std::make_shared<const Model>(c, std::move(map), std::move(owned), token_embd,
                                       TensorView(), std::move(layers), final_norm, head,
                                       TensorView());
}

}  // namespace loom::models
