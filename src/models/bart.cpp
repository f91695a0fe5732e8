// BART (Lewis et al. 2020): an encoder-decoder of post-LayerNorm blocks (x = LN(x + f(x))) with
// learned absolute positions offset by 2 (rows 2.. of embed_positions), a LayerNorm on the
// embeddings (layernorm_embedding), scaled dot-product attention with biased q/k/v/out
// projections, a GELU (erf) FFN, and a head tied to the shared embedding plus final_logits_bias.
// Hugging Face BartForConditionalGeneration names and config.json (facebook/bart-base's
// options: scale_embedding, normalize_before and add_final_layer_norm false; other settings are
// refused by name). GGUF BART is refused.
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "models/decoder.h"

namespace loom::models {

namespace {

enum Role : int32_t {
  kShared,
  kEncPos,
  kEncEmbNorm,
  kEncEmbNormB,
  // encoder layer {L}
  kEncQ,
  kEncQB,
  kEncK,
  kEncKB,
  kEncV,
  kEncVB,
  kEncO,
  kEncOB,
  kEncAttnNorm,
  kEncAttnNormB,
  kEncFc1,
  kEncFc1B,
  kEncFc2,
  kEncFc2B,
  kEncOutNorm,
  kEncOutNormB,
  kDecPos,
  kDecEmbNorm,
  kDecEmbNormB,
  // decoder layer {L}
  kDecQ,
  kDecQB,
  kDecK,
  kDecKB,
  kDecV,
  kDecVB,
  kDecO,
  kDecOB,
  kDecAttnNorm,
  kDecAttnNormB,
  kCrossQ,
  kCrossQB,
  kCrossK,
  kCrossKB,
  kCrossV,
  kCrossVB,
  kCrossO,
  kCrossOB,
  kCrossNorm,
  kCrossNormB,
  kDecFc1,
  kDecFc1B,
  kDecFc2,
  kDecFc2B,
  kDecOutNorm,
  kDecOutNormB,
  kLogitsBias,
  kOutput
};

constexpr int64_t kPositionOffset = 2;  // BartLearnedPositionalEmbedding's offset

Shape vocab_by_dim(const DecoderConfig& c) { return Shape({c.vocab_size, c.dim}); }
Shape pos_by_dim(const DecoderConfig& c) {
  return Shape({c.context_length + kPositionOffset, c.dim});
}
Shape dim_vec(const DecoderConfig& c) { return Shape({c.dim}); }
Shape dim_by_dim(const DecoderConfig& c) { return Shape({c.dim, c.dim}); }
Shape ff_by_dim(const DecoderConfig& c) { return Shape({c.hidden_dim, c.dim}); }
Shape ff_vec(const DecoderConfig& c) { return Shape({c.hidden_dim}); }
Shape dim_by_ff(const DecoderConfig& c) { return Shape({c.dim, c.hidden_dim}); }
Shape one_by_vocab(const DecoderConfig& c) { return Shape({1, c.vocab_size}); }

constexpr auto M = TensorKind::Matrix;
constexpr auto V = TensorKind::Vector;

// A projection's weight and bias, or a LayerNorm's weight and bias, under module name `module`
// ("self_attn.q_proj") of a layer: (role, shape, kind) of the weight, then the bias (a vector).
struct Pair {
  const char* module;
  const char* role;
  Shape (*shape)(const DecoderConfig&);
  Shape (*bias_shape)(const DecoderConfig&);
  const char* lora;
};

const Pair kAttn[] = {{"q_proj", "q", dim_by_dim, dim_vec, "q"},
                      {"k_proj", "k", dim_by_dim, dim_vec, "k"},
                      {"v_proj", "v", dim_by_dim, dim_vec, "v"},
                      {"out_proj", "o", dim_by_dim, dim_vec, "o"}};
const Pair kFfn[] = {{"fc1", "fc1", ff_by_dim, ff_vec, "fc1"},
                     {"fc2", "fc2", dim_by_ff, dim_vec, "fc2"},
                     {"final_layer_norm", "out_norm", dim_vec, dim_vec, nullptr}};

// Names outlive the spec (TensorSpec holds const char*): kept in one static store.
const char* keep(const std::string& s) {
  static std::vector<std::unique_ptr<std::string>> store;
  store.push_back(std::make_unique<std::string>(s));
  return store.back()->c_str();
}

// Adds weight + bias of one module in a layer of `stack` ("encoder", "decoder").
void add_pair(std::vector<TensorSpec>& t, const std::string& stack, const std::string& sub,
              const Pair& p, bool decoder) {
  const std::string hf = "model." + stack + ".layers.{L}." + sub + p.module;
  const std::string role = stack.substr(0, 3) + "_" + sub.substr(0, sub.find('.') + 1) + p.role;
  // LoRA names: the encoder's q, k, v, o, fc1, fc2; the decoder's dec_q.., cross_q..
  const std::string lora = std::string(!decoder                            ? ""
                                       : sub.rfind("encoder_attn", 0) == 0 ? "cross_"
                                                                           : "dec_") +
                           (p.lora ? p.lora : "");
  const TensorKind kind = p.shape == dim_vec ? V : M;
  t.push_back({keep(role), keep(hf + ".weight"), keep(stack + "." + role), true, kind, false, false,
               0, p.lora ? keep(lora) : nullptr, p.shape, nullptr, decoder});
  t.push_back({keep(role + "_b"), keep(hf + ".bias"), keep(stack + "." + role + "_b"), true, V,
               false, false, 0, nullptr, p.bias_shape, nullptr, decoder});
}

// The embedding-side tensors of one stack: positions and layernorm_embedding.
void add_embedding(std::vector<TensorSpec>& t, const std::string& stack) {
  const std::string m = "model." + stack + ".";
  t.push_back({keep(stack + "_pos"), keep(m + "embed_positions.weight"), keep(stack + ".pos"),
               false, M, false, false, 0, nullptr, pos_by_dim});
  t.push_back({keep(stack + "_emb_norm"), keep(m + "layernorm_embedding.weight"),
               keep(stack + ".emb_norm"), false, V, false, false, 0, nullptr, dim_vec});
  t.push_back({keep(stack + "_emb_norm_b"), keep(m + "layernorm_embedding.bias"),
               keep(stack + ".emb_norm_b"), false, V, false, false, 0, nullptr, dim_vec});
}

// In Role order.
std::vector<TensorSpec> make_tensors() {
  std::vector<TensorSpec> t;
  t.push_back({"shared", "model.shared.weight", "token_embd.weight", false, M, false, false, 0,
               nullptr, vocab_by_dim});
  add_embedding(t, "encoder");
  for (const Pair& p : kAttn) add_pair(t, "encoder", "self_attn.", p, false);
  add_pair(t, "encoder", "", {"self_attn_layer_norm", "attn_norm", dim_vec, dim_vec, nullptr},
           false);
  for (const Pair& p : kFfn) add_pair(t, "encoder", "", p, false);
  add_embedding(t, "decoder");
  for (const Pair& p : kAttn) add_pair(t, "decoder", "self_attn.", p, true);
  add_pair(t, "decoder", "", {"self_attn_layer_norm", "attn_norm", dim_vec, dim_vec, nullptr},
           true);
  for (const Pair& p : kAttn) add_pair(t, "decoder", "encoder_attn.", p, true);
  add_pair(t, "decoder", "", {"encoder_attn_layer_norm", "cross_norm", dim_vec, dim_vec, nullptr},
           true);
  for (const Pair& p : kFfn) add_pair(t, "decoder", "", p, true);
  t.push_back({"logits_bias", "final_logits_bias", "output.bias", false, V, false, false, 0,
               nullptr, one_by_vocab});
  t.push_back({"output", "lm_head.weight", "output.weight", false, M, true, false, 0, nullptr,
               vocab_by_dim});
  return t;
}

class Bart final : public Architecture {
 public:
  Bart() : tensors_(make_tensors()) {}
  const char* name() const override { return "bart"; }
  const char* hf_class() const override { return "BartForConditionalGeneration"; }
  bool encoder_decoder() const override { return true; }

  const std::vector<HParam>& hparams() const override {
    static const std::vector<HParam> h = {
        {"d_model", "embedding_length", &DecoderConfig::dim},
        {"encoder_layers", "encoder.block_count", &DecoderConfig::n_layers},
        {"decoder_layers", "block_count", &DecoderConfig::n_decoder_layers},
        {"encoder_attention_heads", "attention.head_count", &DecoderConfig::n_heads},
        {"encoder_ffn_dim", "feed_forward_length", &DecoderConfig::hidden_dim},
        {"max_position_embeddings", "context_length", &DecoderConfig::context_length},
    };
    return h;
  }

  const std::vector<TensorSpec>& tensors() const override { return tensors_; }

  void finish_config(DecoderConfig& c, const io::TensorMap& map, bool hf) const override {
    if (!hf) map.fail("a GGUF bart is not supported (Hugging Face directories are)");
    if (c.n_heads <= 0 || c.dim % c.n_heads != 0)
      map.fail("config.json d_model " + std::to_string(c.dim) +
               " must be a multiple of encoder_attention_heads " + std::to_string(c.n_heads));
    if (map.meta_int("config.decoder_attention_heads", c.n_heads) != c.n_heads ||
        map.meta_int("config.decoder_ffn_dim", c.hidden_dim) != c.hidden_dim)
      map.fail(
          "config.json decoder_attention_heads and decoder_ffn_dim must equal the encoder's "
          "(encoder_attention_heads, encoder_ffn_dim)");
    for (const char* key : {"scale_embedding", "normalize_before", "add_final_layer_norm"})
      if (map.meta_bool(std::string("config.") + key, false))
        map.fail(std::string("config.json ") + key +
                 " true is not supported (bart-base's false is)");
    c.hidden_act = map.meta_string("config.activation_function", "gelu");
    if (c.hidden_act != "gelu")
      map.fail("config.json activation_function '" + c.hidden_act +
               "' is not supported (gelu, the erf form, is)");
    const int64_t pad = map.meta_int("config.pad_token_id", 1);
    const int64_t start = map.meta_int("config.decoder_start_token_id", 2);
    if (pad < 0 || pad >= (1 << 24) || start < 0 || start >= (1 << 24))
      map.fail("config.json pad_token_id and decoder_start_token_id must be >= 0");
    c.pad_token_id = static_cast<int32_t>(pad);
    c.decoder_start_token_id = static_cast<int32_t>(start);
    c.tied_head = map.meta_bool("config.tie_word_embeddings", true);
    normalize(c);
    check_hf_tensors(*this, c, map, "d_model, encoder_ffn_dim, max_position_embeddings");
  }

  void normalize(DecoderConfig& c) const override {
    c.n_kv_heads = c.n_heads;
    if (c.n_heads > 0) c.head_dim = c.dim / c.n_heads;
    c.rope.rot_dim = 0;
    if (c.hidden_act.empty()) c.hidden_act = "gelu";
    if (c.pad_token_id < 0) c.pad_token_id = 1;
    if (c.decoder_start_token_id < 0) c.decoder_start_token_id = 2;
  }

  std::vector<std::string> default_lora_targets() const override { return {"q", "v"}; }

  void write_config(const DecoderConfig& c, nlohmann::ordered_json& j) const override {
    j["decoder_attention_heads"] = c.n_heads;
    j["decoder_ffn_dim"] = c.hidden_dim;
    j["activation_function"] = c.hidden_act.empty() ? "gelu" : c.hidden_act;
    j["pad_token_id"] = c.pad_token_id;
    j["decoder_start_token_id"] = c.decoder_start_token_id;
    j["is_encoder_decoder"] = true;
  }

  Act hidden(Ops& o, const DecoderConfig& c) const override { return decoded(o, c, encoded(o, c)); }

  Act encoded(Ops& o, const DecoderConfig& c) const override {
    Act x = o.add_offset_positions(o.embed_tokens({kShared}), {kEncPos}, kPositionOffset, false);
    x = o.norm(x, {kEncEmbNorm}, {kEncEmbNormB}, NormKind::Layer, c.norm_eps);
    const AttentionShape s{c.n_heads, c.n_heads, c.head_dim, false};
    for (int32_t l = 0; l < c.n_layers; ++l) {
      // x = LN(x + SelfAttn(x)); x = LN(x + FFN(x))
      x = post_norm(o, c, l, x, attend(o, l, x, x, kEncQ, s), kEncAttnNorm);
      x = post_norm(o, c, l, x, ffn(o, l, x, kEncFc1), kEncOutNorm);
    }
    return x;
  }

  Act decoded(Ops& o, const DecoderConfig& c, Act enc) const override {
    Act x =
        o.add_offset_positions(o.embed_decoder_tokens({kShared}), {kDecPos}, kPositionOffset, true);
    x = o.norm(x, {kDecEmbNorm}, {kDecEmbNormB}, NormKind::Layer, c.norm_eps);
    const AttentionShape self{c.n_heads, c.n_heads, c.head_dim, true};
    const AttentionShape cross{c.n_heads, c.n_heads, c.head_dim, false, true};
    for (int32_t l = 0; l < c.n_decoder_layers; ++l) {
      // x = LN(x + SelfAttn(x)); x = LN(x + CrossAttn(x, enc)); x = LN(x + FFN(x))
      x = post_norm(o, c, l, x, attend(o, l, x, x, kDecQ, self), kDecAttnNorm);
      x = post_norm(o, c, l, x, attend(o, l, x, enc, kCrossQ, cross), kCrossNorm);
      x = post_norm(o, c, l, x, ffn(o, l, x, kDecFc1), kDecOutNorm);
    }
    return o.output_rows(x);
  }

  // h · sharedᵀ (or lm_head) + final_logits_bias.
  Act logits(Ops& o, const DecoderConfig& c, Act hidden) const override {
    return o.linear(hidden, c.tied_head ? Wt{kShared} : Wt{kOutput}, {kLogitsBias});
  }

  double forward_flops_per_token(const DecoderConfig& c, int64_t seq) const override {
    const double C = static_cast<double>(c.dim), F = static_cast<double>(c.hidden_dim),
                 S = static_cast<double>(seq);
    const double attn = 4.0 * C * C + 2.0 * 2.0 * S * C, ff = 2.0 * C * F;
    return 2.0 * (static_cast<double>(c.n_layers) * (attn + ff) +
                  static_cast<double>(c.n_decoder_layers) * (2 * attn + ff) +
                  static_cast<double>(c.vocab_size) * C);
  }

 private:
  // Roles from q: q, q_b, k, k_b, v, v_b, o, o_b (kAttn's order, each with its bias).
  static Act attend(Ops& o, int32_t l, Act x, Act kv, int32_t q, const AttentionShape& s) {
    auto w = [l, q](int32_t i) { return Wt{q + i, l}; };
    Act qx = o.linear(x, w(0), w(1));
    Act a = o.attention(l, qx, o.linear(kv, w(2), w(3)), o.linear(kv, w(4), w(5)), s);
    return o.linear(a, w(6), w(7));
  }

  // Roles from fc1: fc1, fc1_b, fc2, fc2_b.
  static Act ffn(Ops& o, int32_t l, Act x, int32_t fc1) {
    Act h = o.activation(o.linear(x, {fc1, l}, {fc1 + 1, l}), Activation::GeluErf);
    return o.linear(h, {fc1 + 2, l}, {fc1 + 3, l});
  }

  static Act post_norm(Ops& o, const DecoderConfig& c, int32_t l, Act x, Act f, int32_t norm) {
    return o.norm(o.add(f, x), {norm, l}, {norm + 1, l}, NormKind::Layer, c.norm_eps);
  }

  std::vector<TensorSpec> tensors_;
};

}  // namespace

const Architecture& bart_architecture() {
  static const Bart a;
  return a;
}

}  // namespace loom::models
