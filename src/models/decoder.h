// Decoder-only transformer family: its one config type, the spec every architecture of the family
// declares (hyperparameters with their config.json and GGUF keys, tensors by role with their
// Hugging Face and GGUF names and layouts, LoRA targets), and the Architecture interface whose
// forward pass is written once over models::Ops.
//
// An architecture is one file, models/<arch>.cpp: its spec tables, the hooks that finish a
// config, and its forward. Loading (inference and training), saving a Hugging Face directory,
// the trainable parameter list and config.json all derive from the spec (models/spec.cpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/kernels.h"
#include "core/tensor.h"
#include "io/tensor_map.h"
#include "models/ops.h"

namespace loom::models {

struct RopeSettings {
  float theta = 10000.0f;
  int64_t rot_dim = 0;                     // leading dims of each head that rotate
  RopeStyle style = RopeStyle::HalfSplit;  // Interleaved for GGUF / llama2.c weights
  // Rope scaling as config.json names it: "" (none), "linear" or "llama3".
  std::string scaling;
  double factor = 1, low_freq_factor = 1, high_freq_factor = 4, original_context = 8192;
  // Per-pair frequency divisors (rot_dim / 2), derived from the scaling or read from GGUF's
  // rope_freqs tensor; empty: none.
  std::vector<float> freq_factors;
};

// One config for every decoder-only architecture (Llama, GPT-2, ...).
struct DecoderConfig {
  std::string arch = "llama";  // the registry name: "llama", "gpt2"
  int64_t vocab_size = 0, dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0,
          hidden_dim = 0, context_length = 0;
  float norm_eps = 1e-5f;
  RopeSettings rope;
  bool tied_head = false;
  std::string hidden_act;  // as config.json names it ("silu", "gelu_new")
  int32_t bos_token_id = -1, eos_token_id = -1;
  // config.json "loom_extension": {"base_vocab_size": N} of a grown vocabulary, or -1.
  int64_t base_vocab_size = -1;
  // Encoders (BERT, RoBERTa): rows of the token-type table; the pad token id; the first row of
  // the position table a sequence uses (RoBERTa: pad_token_id + 1, BERT 0; context_length counts
  // the positions after it); whether the checkpoint has a pooler and an MLM head.
  int64_t type_vocab_size = 0;
  int32_t pad_token_id = -1;
  int64_t position_offset = 0;
  bool has_pooler = false, has_mlm_head = false;
  // Encoder-decoders (T5): decoder blocks (n_layers counts the encoder's); T5's relative
  // position buckets (num_buckets, max_distance); the first decoder input; whether the FFN is
  // gated (v1.1's gated-gelu).
  int64_t n_decoder_layers = 0, rel_buckets = 0, rel_max_distance = 0;
  int32_t decoder_start_token_id = -1;
  bool gated_ffn = false;
  std::string describe() const;
};

// Where a tensor's values sit in a format relative to Loom's inference layout, which is (out, in)
// for every matrix and GGUF's order for q/k rows.
enum class TensorKind { Matrix, Vector };

struct TensorSpec {
  const char* role;  // short name used in messages ("attn_q")
  const char* hf;    // Hugging Face name; "{L}" stands for the layer index
  const char* gguf;  // GGUF name
  bool per_layer;
  TensorKind kind;
  bool optional;     // may be absent (an untied head): Ops::has tells
  bool hf_in_out;    // Hugging Face stores it (in, out) (GPT-2's Conv1D)
  int rope_heads;    // q/k rows: 0 no, 1 query heads, 2 key/value heads (GGUF interleaved,
                     // Hugging Face half-split)
  const char* lora;  // LoRA target name ("q", "qkv", ...) or nullptr
  // Shape in Hugging Face's layout.
  Shape (*hf_shape)(const DecoderConfig&);
  // Whether an optional tensor exists in a model of config c; null: it is the untied head
  // (present unless c.tied_head).
  bool (*present)(const DecoderConfig&) = nullptr;
  // A per-layer tensor of an encoder-decoder's decoder stack: one per n_decoder_layers.
  bool decoder_stack = false;
};

// How many of tensor t a model of config c has: 1, or one per layer of its stack.
inline int64_t layer_count(const TensorSpec& t, const DecoderConfig& c) {
  return !t.per_layer ? 1 : t.decoder_stack ? c.n_decoder_layers : c.n_layers;
}

// Whether a model of config c has tensor t.
inline bool tensor_present(const TensorSpec& t, const DecoderConfig& c) {
  return !t.optional || (t.present ? t.present(c) : !c.tied_head);
}

// One hyperparameter: an int64 or float field of DecoderConfig with its keys.
struct HParam {
  const char* hf_key;    // config.json key
  const char* gguf_key;  // GGUF key without the "<arch>." prefix
  int64_t DecoderConfig::*i = nullptr;
  float DecoderConfig::*f = nullptr;
  double def = 0;
  bool required = true;
};

class Architecture {
 public:
  virtual ~Architecture() = default;
  virtual const char* name() const = 0;      // registry and GGUF name: "llama"
  virtual const char* hf_class() const = 0;  // config.json architectures[0]
  virtual const std::vector<HParam>& hparams() const = 0;
  virtual const std::vector<TensorSpec>& tensors() const = 0;
  // Completes a config whose hparams were read: derived sizes, rope, activation, checks (a
  // loom::Error through map.fail naming the field). hf: the map has Hugging Face names.
  virtual void finish_config(DecoderConfig& c, const io::TensorMap& map, bool hf) const = 0;
  // Fills what a config built by hand (training from scratch) leaves to the architecture:
  // derived sizes (head_dim, n_kv_heads), the activation, the head tying it requires.
  virtual void normalize(DecoderConfig& c) const = 0;
  // The LoRA targets a run uses when none are given (LoRA's paper: the attention projections).
  virtual std::vector<std::string> default_lora_targets() const = 0;
  // Architecture-specific config.json keys (hparams are written generically).
  virtual void write_config(const DecoderConfig& c, nlohmann::ordered_json& j) const = 0;
  // ids -> hidden states after the final norm (rows from Ops::output_rows).
  virtual Act hidden(Ops& o, const DecoderConfig& c) const = 0;
  // hidden -> logits (rows, vocab): the next-token head, or an encoder's masked-LM head.
  virtual Act logits(Ops& o, const DecoderConfig& c, Act hidden) const = 0;
  // Encoder-decoders (T5): the encoder's output (the backend's encoder input, after its final
  // norm), and the decoder's hidden states given it (rows from Ops::output_rows); hidden() is
  // decoded(encoded()). Others: a loom::Error.
  virtual bool encoder_decoder() const { return false; }
  virtual Act encoded(Ops& o, const DecoderConfig& c) const;
  virtual Act decoded(Ops& o, const DecoderConfig& c, Act encoder_out) const;
  // Decoders attend causally and decode a token at a time; an encoder (BERT) attends both ways,
  // so it runs whole sequences only.
  virtual bool causal() const { return true; }
  // hidden (all rows) -> one pooled row per sequence (BERT's pooler); a loom::Error for an
  // architecture or checkpoint without one.
  virtual Act pooled(Ops& o, const DecoderConfig& c, Act hidden) const;
  // Matmul FLOPs of one forward pass per token at sequence length seq.
  virtual double forward_flops_per_token(const DecoderConfig& c, int64_t seq) const = 0;

  int32_t role(const char* name) const;  // index of a role; LOOM_ASSERTs it exists
};

// The registry: "llama" / "LlamaForCausalLM" / GGUF general.architecture -> the architecture.
// Unknown names are a loom::Error listing the known ones.
const Architecture& architecture(const std::string& name);
const Architecture* find_architecture(const std::string& name);
std::vector<const Architecture*> architectures();
// The architecture a checkpoint's metadata names (GGUF general.architecture, config.json
// architectures[0] or model_type); map.fail when none or unknown.
const Architecture& architecture_of(const io::TensorMap& map);

// ---- spec-driven helpers (models/spec.cpp) ----

// Every tensor a config implies is in map under its Hugging Face name with the config's shape
// (c.vocab_size is first taken from the token embedding, tensors()[0]); else map.fail naming the
// tensor, its shape, the expected one and `fields`, the config.json keys the shapes come from.
void check_hf_tensors(const Architecture& a, DecoderConfig& c, const io::TensorMap& map,
                      const char* fields);
// Whether map holds Hugging Face names (else GGUF / llama2.c names).
bool has_hf_names(const Architecture& a, const io::TensorMap& map);
// The tensor name of a role in one layer; `hf` picks the naming.
std::string tensor_name(const TensorSpec& t, int64_t layer, bool hf);
// Reads and checks a config from a checkpoint's metadata (config.* or <arch>.* keys).
DecoderConfig read_config(const Architecture& a, const io::TensorMap& map);
// A tensor of `map` for role/layer, or nullptr when absent; a bare base model (GPT2Model,
// BertModel) lacks the "transformer." / "bert." / "roberta." prefix, so both names are tried.
const Tensor* find_tensor(const io::TensorMap& map, const TensorSpec& t, int64_t layer, bool hf);
// config.json text for a config: `base` (a JSON object, "{}" for none) with every field the
// architecture defines set from c; other keys (e.g. "loom_extension") are kept.
nlohmann::ordered_json config_json(const DecoderConfig& c, const nlohmann::ordered_json& base = {});
// A float hyperparameter as the shortest decimal that reads back as the same float (1e-05, not
// 9.99999974738e-06), so config.json looks like the ones Hugging Face writes.
double json_float(float v);
// The config.json fields a TensorMap carries as "config.*" metadata, as a JSON object again.
nlohmann::ordered_json config_from_meta(const io::TensorMap& map);

// Llama 3 rope scaling as per-pair frequency divisors (Hugging Face's llama3 rope_type).
std::vector<float> llama3_rope_factors(float theta, int64_t rot_dim, double factor,
                                       double low_freq_factor, double high_freq_factor,
                                       double original_context);
// Reads rope scaling from config.json's rope_scaling or GGUF's <arch>.rope.scaling.* keys and
// rope_freqs tensor into rope.freq_factors; kinds other than linear / llama3 are refused.
void read_rope_scaling(const io::TensorMap& map, const std::string& arch, bool hf,
                       RopeSettings& rope);

// The half-split <-> interleaved row permutation of one q or k projection (rows = heads * hd).
// to_half_split true: interleaved (GGUF) -> half-split (HF); false: the inverse.
Tensor permute_rope_rows(const TensorView& w, int64_t heads, bool to_half_split);

}  // namespace loom::models
