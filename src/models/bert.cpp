// BERT (Devlin et al. 2019) and RoBERTa (Liu et al. 2019): bidirectional encoders with learned
// absolute positions, token-type embeddings, post-LayerNorm blocks (x = LN(x + f(x))), GELU-erf,
// a pooler (tanh(dense(h[CLS]))) and a masked-LM head tied to the word embeddings. Hugging Face
// BertForMaskedLM / RobertaForMaskedLM names and config.json (BertModel's pooler kept when the
// checkpoint has it, as bert-base-uncased ships it); GGUF names as llama.cpp's bert (GGUF encoders
// are refused for now, see finish_config). RoBERTa is the same forward under other names, its
// positions counted from padding_idx + 1.
#include "core/error.h"
#include "models/decoder.h"

namespace loom::models {

namespace {

enum Role : int32_t {
  kTokenEmbd,
  kPosEmbd,
  kTypeEmbd,
  kEmbdNorm,
  kEmbdNormB,
  kQ,
  kQB,
  kK,
  kKB,
  kV,
  kVB,
  kO,
  kOB,
  kAttnNorm,
  kAttnNormB,
  kUp,
  kUpB,
  kDown,
  kDownB,
  kOutNorm,
  kOutNormB,
  kPool,
  kPoolB,
  kMlmDense,
  kMlmDenseB,
  kMlmNorm,
  kMlmNormB,
  kMlmBias,
  kOutput
};

Shape vocab_by_dim(const DecoderConfig& c) { return Shape({c.vocab_size, c.dim}); }
Shape pos_by_dim(const DecoderConfig& c) {
  return Shape({c.context_length + c.position_offset, c.dim});
}
Shape types_by_dim(const DecoderConfig& c) { return Shape({c.type_vocab_size, c.dim}); }
Shape dim_vec(const DecoderConfig& c) { return Shape({c.dim}); }
Shape dim_by_dim(const DecoderConfig& c) { return Shape({c.dim, c.dim}); }
Shape ff_by_dim(const DecoderConfig& c) { return Shape({c.hidden_dim, c.dim}); }
Shape ff_vec(const DecoderConfig& c) { return Shape({c.hidden_dim}); }
Shape dim_by_ff(const DecoderConfig& c) { return Shape({c.dim, c.hidden_dim}); }
Shape vocab_vec(const DecoderConfig& c) { return Shape({c.vocab_size}); }

bool pooler(const DecoderConfig& c) { return c.has_pooler; }
bool mlm(const DecoderConfig& c) { return c.has_mlm_head; }
bool untied_mlm(const DecoderConfig& c) { return c.has_mlm_head && !c.tied_head; }

constexpr auto M = TensorKind::Matrix;
constexpr auto V = TensorKind::Vector;

// The Hugging Face names of one family: the base model's prefix and the MLM head's names.
struct Names {
  const char* arch;
  const char* hf_class;
  const char* embd[5];    // word, position, token type, LayerNorm weight, bias
  const char* layer[16];  // in Role order kQ .. kOutNormB, "{L}" the layer
  const char* head[8];    // pooler w, b; MLM dense w, b; norm w, b; bias; decoder
  int32_t default_pad;
};

std::vector<TensorSpec> make_tensors(const Names& n) {
  static const char* gguf_embd[5] = {"token_embd.weight", "position_embd.weight",
                                     "token_types.weight", "token_embd_norm.weight",
                                     "token_embd_norm.bias"};
  static const char* gguf_layer[16] = {"blk.{L}.attn_q.weight",
                                       "blk.{L}.attn_q.bias",
                                       "blk.{L}.attn_k.weight",
                                       "blk.{L}.attn_k.bias",
                                       "blk.{L}.attn_v.weight",
                                       "blk.{L}.attn_v.bias",
                                       "blk.{L}.attn_output.weight",
                                       "blk.{L}.attn_output.bias",
                                       "blk.{L}.attn_output_norm.weight",
                                       "blk.{L}.attn_output_norm.bias",
                                       "blk.{L}.ffn_up.weight",
                                       "blk.{L}.ffn_up.bias",
                                       "blk.{L}.ffn_down.weight",
                                       "blk.{L}.ffn_down.bias",
                                       "blk.{L}.layer_output_norm.weight",
                                       "blk.{L}.layer_output_norm.bias"};
  static const char* gguf_head[8] = {"pooler.weight",  "pooler.bias",     "mlm.dense.weight",
                                     "mlm.dense.bias", "mlm.norm.weight", "mlm.norm.bias",
                                     "mlm.bias",       "output.weight"};
  static const char* roles[] = {
      "token_embd",    "position_embd", "token_types", "embd_norm", "embd_norm_b", "attn_q",
      "attn_q_b",      "attn_k",        "attn_k_b",    "attn_v",    "attn_v_b",    "attn_output",
      "attn_output_b", "attn_norm",     "attn_norm_b", "ffn_up",    "ffn_up_b",    "ffn_down",
      "ffn_down_b",    "out_norm",      "out_norm_b",  "pooler",    "pooler_b",    "mlm_dense",
      "mlm_dense_b",   "mlm_norm",      "mlm_norm_b",  "mlm_bias",  "output"};
  static Shape (*const embd_shape[5])(const DecoderConfig&) = {vocab_by_dim, pos_by_dim,
                                                               types_by_dim, dim_vec, dim_vec};
  static Shape (*const layer_shape[16])(const DecoderConfig&) = {
      dim_by_dim, dim_vec, dim_by_dim, dim_vec, dim_by_dim, dim_vec, dim_by_dim, dim_vec,
      dim_vec,    dim_vec, ff_by_dim,  ff_vec,  dim_by_ff,  dim_vec, dim_vec,    dim_vec};
  static const TensorKind layer_kind[16] = {M, V, M, V, M, V, M, V, V, V, M, V, M, V, V, V};
  static const char* lora[16] = {"q",    nullptr, "k",     nullptr, "v",  nullptr,
                                 "o",    nullptr, nullptr, nullptr, "up", nullptr,
                                 "down", nullptr, nullptr, nullptr};
  std::vector<TensorSpec> t;
  for (int i = 0; i < 5; ++i)
    t.push_back({roles[i], n.embd[i], gguf_embd[i], false, i < 3 ? M : V, false, false, 0, nullptr,
                 embd_shape[i]});
  for (int i = 0; i < 16; ++i)
    t.push_back({roles[5 + i], n.layer[i], gguf_layer[i], true, layer_kind[i], false, false, 0,
                 lora[i], layer_shape[i]});
  static Shape (*const head_shape[8])(const DecoderConfig&) = {
      dim_by_dim, dim_vec, dim_by_dim, dim_vec, dim_vec, dim_vec, vocab_vec, vocab_by_dim};
  static bool (*const head_present[8])(const DecoderConfig&) = {pooler, pooler, mlm, mlm,
                                                                mlm,    mlm,    mlm, untied_mlm};
  for (int i = 0; i < 8; ++i)
    t.push_back({roles[21 + i], n.head[i], gguf_head[i], false, i == 0 || i == 2 || i == 7 ? M : V,
                 true, false, 0, nullptr, head_shape[i], head_present[i]});
  return t;
}

class Bert final : public Architecture {
 public:
  explicit Bert(const Names& n) : n_(n), tensors_(make_tensors(n)) {}
  const char* name() const override { return n_.arch; }
  const char* hf_class() const override { return n_.hf_class; }
  bool causal() const override { return false; }

  const std::vector<HParam>& hparams() const override {
    static const std::vector<HParam> h = {
        {"hidden_size", "embedding_length", &DecoderConfig::dim},
        {"num_hidden_layers", "block_count", &DecoderConfig::n_layers},
        {"num_attention_heads", "attention.head_count", &DecoderConfig::n_heads},
        {"intermediate_size", "feed_forward_length", &DecoderConfig::hidden_dim},
        {"max_position_embeddings", "context_length", &DecoderConfig::context_length, nullptr, 512,
         false},
        {"type_vocab_size", nullptr, &DecoderConfig::type_vocab_size, nullptr, 2, false},
        {"layer_norm_eps", "attention.layer_norm_epsilon", nullptr, &DecoderConfig::norm_eps, 1e-12,
         false},
    };
    return h;
  }

  const std::vector<TensorSpec>& tensors() const override { return tensors_; }

  void finish_config(DecoderConfig& c, const io::TensorMap& map, bool hf) const override {
    // The GGUF names above are llama.cpp's, but no test covers a GGUF encoder (its pooling keys,
    // RoBERTa's offset): refused rather than run unchecked.
    if (!hf)
      map.fail(std::string("a GGUF ") + n_.arch +
               " is not supported (Hugging Face directories are)");
    if (c.n_heads <= 0 || c.dim % c.n_heads != 0)
      map.fail("config.json hidden_size " + std::to_string(c.dim) +
               " must be a multiple of num_attention_heads " + std::to_string(c.n_heads));
    const int64_t pad = map.meta_int("config.pad_token_id", n_.default_pad);
    if (pad < 0 || pad >= (1 << 24)) map.fail("config.json pad_token_id must be >= 0");
    c.pad_token_id = static_cast<int32_t>(pad);
    if (std::string(n_.arch) == "roberta") {  // rows 0..pad are never a real token's position
      c.position_offset = pad + 1;
      c.context_length -= c.position_offset;
      if (c.context_length <= 0)
        map.fail("config.json max_position_embeddings must exceed pad_token_id + 1");
    }
    c.hidden_act = hf ? map.meta_string("config.hidden_act", "gelu") : "gelu";
    if (c.hidden_act != "gelu")
      map.fail("config.json hidden_act '" + c.hidden_act + "' is not supported for " + n_.arch +
               " (gelu, the erf form, is)");
    const std::string pet = map.meta_string("config.position_embedding_type", "absolute");
    if (pet != "absolute")
      map.fail("config.json position_embedding_type '" + pet + "' is not supported (absolute is)");
    normalize_sizes(c);
    c.has_pooler = find_tensor(map, tensors_[kPool], 0, hf) != nullptr;
    c.has_mlm_head = find_tensor(map, tensors_[kMlmBias], 0, hf) != nullptr;
    c.tied_head = map.meta_bool("config.tie_word_embeddings", true) ||
                  find_tensor(map, tensors_[kOutput], 0, hf) == nullptr;
  }

  void normalize(DecoderConfig& c) const override {
    normalize_sizes(c);
    if (c.hidden_act.empty()) c.hidden_act = "gelu";
    if (c.type_vocab_size == 0) c.type_vocab_size = std::string(n_.arch) == "roberta" ? 1 : 2;
    if (c.pad_token_id < 0) c.pad_token_id = n_.default_pad;
  }

  std::vector<std::string> default_lora_targets() const override { return {"q", "v"}; }

  void write_config(const DecoderConfig& c, nlohmann::ordered_json& j) const override {
    j["max_position_embeddings"] = c.context_length + c.position_offset;
    j["hidden_act"] = c.hidden_act.empty() ? "gelu" : c.hidden_act;
    j["pad_token_id"] = c.pad_token_id;
    if (!j.contains("position_embedding_type")) j["position_embedding_type"] = "absolute";
  }

  Act hidden(Ops& o, const DecoderConfig& c) const override {
    const int32_t pad = c.position_offset > 0 ? c.pad_token_id : -1;
    Act x = o.add_token_types(o.add_positions(o.embed_tokens({kTokenEmbd}), {kPosEmbd}, pad),
                              {kTypeEmbd});
    x = o.norm(x, {kEmbdNorm}, {kEmbdNormB}, NormKind::Layer, c.norm_eps);
    const AttentionShape s{c.n_heads, c.n_heads, c.head_dim, false};
    for (int32_t l = 0; l < c.n_layers; ++l) {
      auto w = [l](int32_t role) { return Wt{role, l}; };
      // Post-norm: x = LN(x + O(attn(Q x, K x, V x))), x = LN(x + W2 gelu(W1 x)).
      Act a = o.attention(l, o.linear(x, w(kQ), w(kQB)), o.linear(x, w(kK), w(kKB)),
                          o.linear(x, w(kV), w(kVB)), s);
      x = o.norm(o.add(o.linear(a, w(kO), w(kOB)), x), w(kAttnNorm), w(kAttnNormB), NormKind::Layer,
                 c.norm_eps);
      Act f = o.activation(o.linear(x, w(kUp), w(kUpB)), Activation::GeluErf);
      x = o.norm(o.add(o.linear(f, w(kDown), w(kDownB)), x), w(kOutNorm), w(kOutNormB),
                 NormKind::Layer, c.norm_eps);
      x = o.end_block(x);
    }
    return o.output_rows(x);
  }

  // The MLM head: LN(gelu(dense(h))) · word_embeddingsᵀ + bias.
  Act logits(Ops& o, const DecoderConfig& c, Act hidden) const override {
    if (!c.has_mlm_head)
      throw Error(std::string(n_.arch) + ": the checkpoint has no masked-LM head (" + n_.head[6] +
                  ")");
    Act h = o.activation(o.linear(hidden, {kMlmDense}, {kMlmDenseB}), Activation::GeluErf);
    h = o.norm(h, {kMlmNorm}, {kMlmNormB}, NormKind::Layer, c.norm_eps);
    return o.linear(h, c.tied_head ? Wt{kTokenEmbd} : Wt{kOutput}, {kMlmBias});
  }

  Act pooled(Ops& o, const DecoderConfig& c, Act hidden) const override {
    if (!c.has_pooler)
      throw Error(std::string(n_.arch) + ": the checkpoint has no pooler (" + n_.head[0] + ")");
    return o.activation(o.linear(o.first_rows(hidden), {kPool}, {kPoolB}), Activation::Tanh);
  }

  double forward_flops_per_token(const DecoderConfig& c, int64_t seq) const override {
    const double C = static_cast<double>(c.dim), F = static_cast<double>(c.hidden_dim);
    const double attn = 2.0 * 2.0 * static_cast<double>(seq) * C;  // both directions: all keys
    return static_cast<double>(c.n_layers) * (2 * (4 * C * C + 2 * C * F) + attn);
  }

 private:
  static void normalize_sizes(DecoderConfig& c) {
    c.n_kv_heads = c.n_heads;
    if (c.n_heads > 0) c.head_dim = c.dim / c.n_heads;
    c.rope.rot_dim = 0;
  }
  const Names& n_;
  std::vector<TensorSpec> tensors_;
};

constexpr Names kBert = {
    "bert",
    "BertForMaskedLM",
    {"bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
     "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
     "bert.embeddings.LayerNorm.bias"},
    {"bert.encoder.layer.{L}.attention.self.query.weight",
     "bert.encoder.layer.{L}.attention.self.query.bias",
     "bert.encoder.layer.{L}.attention.self.key.weight",
     "bert.encoder.layer.{L}.attention.self.key.bias",
     "bert.encoder.layer.{L}.attention.self.value.weight",
     "bert.encoder.layer.{L}.attention.self.value.bias",
     "bert.encoder.layer.{L}.attention.output.dense.weight",
     "bert.encoder.layer.{L}.attention.output.dense.bias",
     "bert.encoder.layer.{L}.attention.output.LayerNorm.weight",
     "bert.encoder.layer.{L}.attention.output.LayerNorm.bias",
     "bert.encoder.layer.{L}.intermediate.dense.weight",
     "bert.encoder.layer.{L}.intermediate.dense.bias", "bert.encoder.layer.{L}.output.dense.weight",
     "bert.encoder.layer.{L}.output.dense.bias", "bert.encoder.layer.{L}.output.LayerNorm.weight",
     "bert.encoder.layer.{L}.output.LayerNorm.bias"},
    {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "cls.predictions.transform.dense.weight",
     "cls.predictions.transform.dense.bias", "cls.predictions.transform.LayerNorm.weight",
     "cls.predictions.transform.LayerNorm.bias", "cls.predictions.bias",
     "cls.predictions.decoder.weight"},
    0};

constexpr Names kRoberta = {
    "roberta",
    "RobertaForMaskedLM",
    {"roberta.embeddings.word_embeddings.weight", "roberta.embeddings.position_embeddings.weight",
     "roberta.embeddings.token_type_embeddings.weight", "roberta.embeddings.LayerNorm.weight",
     "roberta.embeddings.LayerNorm.bias"},
    {"roberta.encoder.layer.{L}.attention.self.query.weight",
     "roberta.encoder.layer.{L}.attention.self.query.bias",
     "roberta.encoder.layer.{L}.attention.self.key.weight",
     "roberta.encoder.layer.{L}.attention.self.key.bias",
     "roberta.encoder.layer.{L}.attention.self.value.weight",
     "roberta.encoder.layer.{L}.attention.self.value.bias",
     "roberta.encoder.layer.{L}.attention.output.dense.weight",
     "roberta.encoder.layer.{L}.attention.output.dense.bias",
     "roberta.encoder.layer.{L}.attention.output.LayerNorm.weight",
     "roberta.encoder.layer.{L}.attention.output.LayerNorm.bias",
     "roberta.encoder.layer.{L}.intermediate.dense.weight",
     "roberta.encoder.layer.{L}.intermediate.dense.bias",
     "roberta.encoder.layer.{L}.output.dense.weight", "roberta.encoder.layer.{L}.output.dense.bias",
     "roberta.encoder.layer.{L}.output.LayerNorm.weight",
     "roberta.encoder.layer.{L}.output.LayerNorm.bias"},
    {"roberta.pooler.dense.weight", "roberta.pooler.dense.bias", "lm_head.dense.weight",
     "lm_head.dense.bias", "lm_head.layer_norm.weight", "lm_head.layer_norm.bias", "lm_head.bias",
     "lm_head.decoder.weight"},
    1};

}  // namespace

const Architecture& bert_architecture() {
  static const Bert a(kBert);
  return a;
}

const Architecture& roberta_architecture() {
  static const Bert a(kRoberta);
  return a;
}

}  // namespace loom::models
