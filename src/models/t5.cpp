// T5 (Raffel et al. 2020): an encoder-decoder of pre-norm blocks with T5LayerNorm (RMSNorm, no
// bias), attention without 1/sqrt(d) scaling and with a relative position bias (bucketed
// key - query distances; block 0's table of each stack serves every block of it; bidirectional
// buckets in the encoder, causal in the decoder; none in cross-attention), a ReLU FFN (t5) or
// v1.1's gated-gelu (gelu_tanh(wi_0 x) * wi_1 x), and a head tied to the shared embedding
// (decoder output scaled by d_model^-0.5 first) or an untied lm_head. Hugging Face
// T5ForConditionalGeneration names and config.json; head size d_kv is its own (heads * d_kv need
// not be d_model). GGUF T5 is refused (finish_config).
#include <cmath>

#include "core/error.h"
#include "models/decoder.h"

namespace loom::models {

namespace {

enum Role : int32_t {
  kShared,
  kEncRelBias,
  kDecRelBias,
  // encoder block {L}
  kEncQ,
  kEncK,
  kEncV,
  kEncO,
  kEncAttnNorm,
  kEncWi,
  kEncWi0,
  kEncWi1,
  kEncWo,
  kEncFfNorm,
  kEncFinalNorm,
  // decoder block {L}
  kDecQ,
  kDecK,
  kDecV,
  kDecO,
  kDecAttnNorm,
  kCrossQ,
  kCrossK,
  kCrossV,
  kCrossO,
  kCrossNorm,
  kDecWi,
  kDecWi0,
  kDecWi1,
  kDecWo,
  kDecFfNorm,
  kDecFinalNorm,
  kOutput
};

Shape vocab_by_dim(const DecoderConfig& c) { return Shape({c.vocab_size, c.dim}); }
Shape buckets_by_heads(const DecoderConfig& c) { return Shape({c.rel_buckets, c.n_heads}); }
Shape inner_by_dim(const DecoderConfig& c) { return Shape({c.n_heads * c.head_dim, c.dim}); }
Shape dim_by_inner(const DecoderConfig& c) { return Shape({c.dim, c.n_heads * c.head_dim}); }
Shape dim_vec(const DecoderConfig& c) { return Shape({c.dim}); }
Shape ff_by_dim(const DecoderConfig& c) { return Shape({c.hidden_dim, c.dim}); }
Shape dim_by_ff(const DecoderConfig& c) { return Shape({c.dim, c.hidden_dim}); }
bool gated(const DecoderConfig& c) { return c.gated_ffn; }
bool ungated(const DecoderConfig& c) { return !c.gated_ffn; }

constexpr auto M = TensorKind::Matrix;
constexpr auto V = TensorKind::Vector;

// One stack's per-block tensors: HF name, GGUF name (llama.cpp's t5), shape, kind, LoRA name
// (the encoder's q, k, v, o, wi..; the decoder's dec_q.., cross_q..: one role per target name).
struct BlockTensor {
  const char* role;
  const char* hf;
  const char* gguf;
  Shape (*shape)(const DecoderConfig&);
  TensorKind kind;
  const char* lora;
  bool (*present)(const DecoderConfig&);
};

// Encoder block {L}: layer.0 self-attention, layer.1 FFN.
const BlockTensor kEncBlock[] = {
    {"enc_q", "encoder.block.{L}.layer.0.SelfAttention.q.weight", "enc.blk.{L}.attn_q.weight",
     inner_by_dim, M, "q", nullptr},
    {"enc_k", "encoder.block.{L}.layer.0.SelfAttention.k.weight", "enc.blk.{L}.attn_k.weight",
     inner_by_dim, M, "k", nullptr},
    {"enc_v", "encoder.block.{L}.layer.0.SelfAttention.v.weight", "enc.blk.{L}.attn_v.weight",
     inner_by_dim, M, "v", nullptr},
    {"enc_o", "encoder.block.{L}.layer.0.SelfAttention.o.weight", "enc.blk.{L}.attn_o.weight",
     dim_by_inner, M, "o", nullptr},
    {"enc_attn_norm", "encoder.block.{L}.layer.0.layer_norm.weight", "enc.blk.{L}.attn_norm.weight",
     dim_vec, V, nullptr, nullptr},
    {"enc_wi", "encoder.block.{L}.layer.1.DenseReluDense.wi.weight", "enc.blk.{L}.ffn_up.weight",
     ff_by_dim, M, "wi", ungated},
    {"enc_wi_0", "encoder.block.{L}.layer.1.DenseReluDense.wi_0.weight",
     "enc.blk.{L}.ffn_gate.weight", ff_by_dim, M, "wi_0", gated},
    {"enc_wi_1", "encoder.block.{L}.layer.1.DenseReluDense.wi_1.weight",
     "enc.blk.{L}.ffn_up.weight", ff_by_dim, M, "wi_1", gated},
    {"enc_wo", "encoder.block.{L}.layer.1.DenseReluDense.wo.weight", "enc.blk.{L}.ffn_down.weight",
     dim_by_ff, M, "wo", nullptr},
    {"enc_ff_norm", "encoder.block.{L}.layer.1.layer_norm.weight", "enc.blk.{L}.ffn_norm.weight",
     dim_vec, V, nullptr, nullptr}};
// Decoder block {L}: layer.0 self-attention, layer.1 cross-attention, layer.2 FFN.
const BlockTensor kDecBlock[] = {
    {"dec_q", "decoder.block.{L}.layer.0.SelfAttention.q.weight", "dec.blk.{L}.attn_q.weight",
     inner_by_dim, M, "dec_q", nullptr},
    {"dec_k", "decoder.block.{L}.layer.0.SelfAttention.k.weight", "dec.blk.{L}.attn_k.weight",
     inner_by_dim, M, "dec_k", nullptr},
    {"dec_v", "decoder.block.{L}.layer.0.SelfAttention.v.weight", "dec.blk.{L}.attn_v.weight",
     inner_by_dim, M, "dec_v", nullptr},
    {"dec_o", "decoder.block.{L}.layer.0.SelfAttention.o.weight", "dec.blk.{L}.attn_o.weight",
     dim_by_inner, M, "dec_o", nullptr},
    {"dec_attn_norm", "decoder.block.{L}.layer.0.layer_norm.weight", "dec.blk.{L}.attn_norm.weight",
     dim_vec, V, nullptr, nullptr},
    {"cross_q", "decoder.block.{L}.layer.1.EncDecAttention.q.weight",
     "dec.blk.{L}.cross_attn_q.weight", inner_by_dim, M, "cross_q", nullptr},
    {"cross_k", "decoder.block.{L}.layer.1.EncDecAttention.k.weight",
     "dec.blk.{L}.cross_attn_k.weight", inner_by_dim, M, "cross_k", nullptr},
    {"cross_v", "decoder.block.{L}.layer.1.EncDecAttention.v.weight",
     "dec.blk.{L}.cross_attn_v.weight", inner_by_dim, M, "cross_v", nullptr},
    {"cross_o", "decoder.block.{L}.layer.1.EncDecAttention.o.weight",
     "dec.blk.{L}.cross_attn_o.weight", dim_by_inner, M, "cross_o", nullptr},
    {"cross_norm", "decoder.block.{L}.layer.1.layer_norm.weight",
     "dec.blk.{L}.cross_attn_norm.weight", dim_vec, V, nullptr, nullptr},
    {"dec_wi", "decoder.block.{L}.layer.2.DenseReluDense.wi.weight", "dec.blk.{L}.ffn_up.weight",
     ff_by_dim, M, "dec_wi", ungated},
    {"dec_wi_0", "decoder.block.{L}.layer.2.DenseReluDense.wi_0.weight",
     "dec.blk.{L}.ffn_gate.weight", ff_by_dim, M, "dec_wi_0", gated},
    {"dec_wi_1", "decoder.block.{L}.layer.2.DenseReluDense.wi_1.weight",
     "dec.blk.{L}.ffn_up.weight", ff_by_dim, M, "dec_wi_1", gated},
    {"dec_wo", "decoder.block.{L}.layer.2.DenseReluDense.wo.weight", "dec.blk.{L}.ffn_down.weight",
     dim_by_ff, M, "dec_wo", nullptr},
    {"dec_ff_norm", "decoder.block.{L}.layer.2.layer_norm.weight", "dec.blk.{L}.ffn_norm.weight",
     dim_vec, V, nullptr, nullptr}};
std::vector<TensorSpec> make_tensors() {
  std::vector<TensorSpec> t;
  t.push_back({"shared", "shared.weight", "token_embd.weight", false, M, false, false, 0, nullptr,
               vocab_by_dim});
  t.push_back(
      {"enc_rel_bias", "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
       "enc.blk.0.attn_rel_b.weight", false, M, false, false, 0, nullptr, buckets_by_heads});
  t.push_back(
      {"dec_rel_bias", "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
       "dec.blk.0.attn_rel_b.weight", false, M, false, false, 0, nullptr, buckets_by_heads});
  for (const BlockTensor& b : kEncBlock)
    t.push_back({b.role, b.hf, b.gguf, true, b.kind, b.present != nullptr, false, 0, b.lora,
                 b.shape, b.present});
  t.push_back({"enc_final_norm", "encoder.final_layer_norm.weight", "enc.output_norm.weight", false,
               V, false, false, 0, nullptr, dim_vec});
  for (const BlockTensor& b : kDecBlock)
    t.push_back({b.role, b.hf, b.gguf, true, b.kind, b.present != nullptr, false, 0, b.lora,
                 b.shape, b.present, true});
  t.push_back({"dec_final_norm", "decoder.final_layer_norm.weight", "dec.output_norm.weight", false,
               V, false, false, 0, nullptr, dim_vec});
  t.push_back({"output", "lm_head.weight", "output.weight", false, M, true, false, 0, nullptr,
               vocab_by_dim});
  return t;
}

// The roles of one attention sub-layer (q, k, v, o) and of one FFN (wi, wi_0, wi_1, wo).
struct AttnRoles {
  int32_t q, k, v, o;
};
struct FfnRoles {
  int32_t wi, wi0, wi1, wo;
};

class T5 final : public Architecture {
 public:
  T5() : tensors_(make_tensors()) {}
  const char* name() const override { return "t5"; }
  const char* hf_class() const override { return "T5ForConditionalGeneration"; }
  bool encoder_decoder() const override { return true; }

  const std::vector<HParam>& hparams() const override {
    static const std::vector<HParam> h = {
        {"d_model", "embedding_length", &DecoderConfig::dim},
        {"num_layers", "encoder.block_count", &DecoderConfig::n_layers},
        {"num_decoder_layers", "block_count", &DecoderConfig::n_decoder_layers, nullptr, 0, false},
        {"num_heads", "attention.head_count", &DecoderConfig::n_heads},
        {"d_kv", "attention.key_length", &DecoderConfig::head_dim},
        {"d_ff", "feed_forward_length", &DecoderConfig::hidden_dim},
        {"relative_attention_num_buckets", "attention.relative_buckets_count",
         &DecoderConfig::rel_buckets, nullptr, 32, false},
        {"relative_attention_max_distance", nullptr, &DecoderConfig::rel_max_distance, nullptr, 128,
         false},
        {"n_positions", "context_length", &DecoderConfig::context_length, nullptr, 512, false},
        {"layer_norm_epsilon", "attention.layer_norm_rms_epsilon", nullptr,
         &DecoderConfig::norm_eps, 1e-6, false},
    };
    return h;
  }

  const std::vector<TensorSpec>& tensors() const override { return tensors_; }

  void finish_config(DecoderConfig& c, const io::TensorMap& map, bool hf) const override {
    if (!hf) map.fail("a GGUF t5 is not supported (Hugging Face directories are)");
    if (c.n_decoder_layers == 0) c.n_decoder_layers = c.n_layers;  // T5Config's default
    const std::string ff = map.meta_string("config.feed_forward_proj", "relu");
    if (ff != "relu" && ff != "gated-gelu")
      map.fail("config.json feed_forward_proj '" + ff +
               "' is not supported (relu and gated-gelu are)");
    c.gated_ffn = ff == "gated-gelu";
    c.hidden_act = c.gated_ffn ? "gelu_new" : "relu";
    if (c.rel_buckets < 2)
      map.fail("config.json relative_attention_num_buckets must be >= 2, got " +
               std::to_string(c.rel_buckets));
    const int64_t pad = map.meta_int("config.pad_token_id", 0);
    const int64_t start = map.meta_int("config.decoder_start_token_id", pad);
    if (pad < 0 || pad >= (1 << 24)) map.fail("config.json pad_token_id must be >= 0");
    if (start < 0 || start >= (1 << 24))
      map.fail("config.json decoder_start_token_id must be >= 0");
    c.pad_token_id = static_cast<int32_t>(pad);
    c.decoder_start_token_id = static_cast<int32_t>(start);
    c.tied_head = map.meta_bool("config.tie_word_embeddings", true);
    normalize(c);
    check_hf_tensors(*this, c, map,
                     "d_model, d_kv, num_heads, d_ff, relative_attention_num_buckets");
  }

  void normalize(DecoderConfig& c) const override {
    c.n_kv_heads = c.n_heads;
    c.rope.rot_dim = 0;
    if (c.n_decoder_layers == 0) c.n_decoder_layers = c.n_layers;
    if (c.head_dim == 0 && c.n_heads > 0) c.head_dim = c.dim / c.n_heads;
    if (c.rel_buckets == 0) c.rel_buckets = 32;
    if (c.rel_max_distance == 0) c.rel_max_distance = 128;
    if (c.hidden_act.empty()) c.hidden_act = c.gated_ffn ? "gelu_new" : "relu";
    if (c.pad_token_id < 0) c.pad_token_id = 0;
    if (c.decoder_start_token_id < 0) c.decoder_start_token_id = c.pad_token_id;
  }

  std::vector<std::string> default_lora_targets() const override { return {"q", "v"}; }

  void write_config(const DecoderConfig& c, nlohmann::ordered_json& j) const override {
    j["feed_forward_proj"] = c.gated_ffn ? "gated-gelu" : "relu";
    j["pad_token_id"] = c.pad_token_id;
    j["decoder_start_token_id"] = c.decoder_start_token_id;
    j["is_encoder_decoder"] = true;
  }

  Act hidden(Ops& o, const DecoderConfig& c) const override { return decoded(o, c, encoded(o, c)); }

  Act encoded(Ops& o, const DecoderConfig& c) const override {
    Act x = o.embed_tokens({kShared});
    const Act bias =
        o.relative_position_bias({kEncRelBias}, c.rel_buckets, c.rel_max_distance, false);
    const AttentionShape s{c.n_heads, c.n_heads, c.head_dim, false, false, 1.0f, bias};
    for (int32_t l = 0; l < c.n_layers; ++l) {
      // x += SelfAttention(LN(x)); x += FF(LN(x))
      Act h = o.norm(x, {kEncAttnNorm, l}, {}, NormKind::RMS, c.norm_eps);
      x = o.add(x, attend(o, l, h, h, {kEncQ, kEncK, kEncV, kEncO}, s));
      h = o.norm(x, {kEncFfNorm, l}, {}, NormKind::RMS, c.norm_eps);
      x = o.add(x, ffn(o, c, l, h, {kEncWi, kEncWi0, kEncWi1, kEncWo}));
    }
    return o.norm(x, {kEncFinalNorm}, {}, NormKind::RMS, c.norm_eps);
  }

  Act decoded(Ops& o, const DecoderConfig& c, Act enc) const override {
    Act x = o.embed_decoder_tokens({kShared});
    const Act bias =
        o.relative_position_bias({kDecRelBias}, c.rel_buckets, c.rel_max_distance, true);
    const AttentionShape self{c.n_heads, c.n_heads, c.head_dim, true, false, 1.0f, bias};
    const AttentionShape cross{c.n_heads, c.n_heads, c.head_dim, false, true, 1.0f, {}};
    for (int32_t l = 0; l < c.n_decoder_layers; ++l) {
      // x += SelfAttention(LN(x)); x += EncDecAttention(LN(x), enc); x += FF(LN(x))
      Act h = o.norm(x, {kDecAttnNorm, l}, {}, NormKind::RMS, c.norm_eps);
      x = o.add(x, attend(o, l, h, h, {kDecQ, kDecK, kDecV, kDecO}, self));
      h = o.norm(x, {kCrossNorm, l}, {}, NormKind::RMS, c.norm_eps);
      x = o.add(x, attend(o, l, h, enc, {kCrossQ, kCrossK, kCrossV, kCrossO}, cross));
      h = o.norm(x, {kDecFfNorm, l}, {}, NormKind::RMS, c.norm_eps);
      x = o.add(x, ffn(o, c, l, h, {kDecWi, kDecWi0, kDecWi1, kDecWo}));
    }
    return o.norm(o.output_rows(x), {kDecFinalNorm}, {}, NormKind::RMS, c.norm_eps);
  }

  // Tied: lm_head = shared, on the decoder output scaled by d_model^-0.5 (Mesh TensorFlow's
  // rescaling); untied: lm_head.weight as is.
  Act logits(Ops& o, const DecoderConfig& c, Act hidden) const override {
    if (!c.tied_head) return o.linear(hidden, {kOutput});
    const float s = 1.0f / std::sqrt(static_cast<float>(c.dim));
    return o.linear(o.scale(hidden, s), {kShared});
  }

  double forward_flops_per_token(const DecoderConfig& c, int64_t seq) const override {
    const double C = static_cast<double>(c.dim), F = static_cast<double>(c.hidden_dim),
                 I = static_cast<double>(c.n_heads * c.head_dim), S = static_cast<double>(seq);
    const double ff = (c.gated_ffn ? 3.0 : 2.0) * C * F, attn = 4.0 * C * I + 2.0 * 2.0 * S * I;
    return 2.0 * (static_cast<double>(c.n_layers) * (attn + ff) +
                  static_cast<double>(c.n_decoder_layers) * (2 * attn + ff) +
                  static_cast<double>(c.vocab_size) * C);
  }

 private:
  // q from x, k and v from kv (x itself, or the encoder's output), attention, o.
  static Act attend(Ops& o, int32_t l, Act x, Act kv, const AttnRoles& r, const AttentionShape& s) {
    Act q = o.linear(x, {r.q, l});
    const Acts k_v = o.linears(kv, {Wt{r.k, l}, Wt{r.v, l}});
    return o.linear(o.attention(l, q, k_v[0], k_v[1], s), {r.o, l});
  }

  static Act ffn(Ops& o, const DecoderConfig& c, int32_t l, Act x, const FfnRoles& r) {
    if (!c.gated_ffn)
      return o.linear(o.activation(o.linear(x, {r.wi, l}), Activation::Relu), {r.wo, l});
    const Acts g_u = o.linears(x, {Wt{r.wi0, l}, Wt{r.wi1, l}});
    return o.linear(o.mul(o.activation(g_u[0], Activation::GeluTanh), g_u[1]), {r.wo, l});
  }

  std::vector<TensorSpec> tensors_;
};

}  // namespace

const Architecture& t5_architecture() {
  static const T5 a;
  return a;
}

}  // namespace loom::models
