// A trainable decoder-only language model in two flavours built from the same blocks:
//   Gpt2:  learned positions, LayerNorm (with bias), fused c_attn (Conv1D layout, in x out),
//          GELU-tanh MLP, tied lm head — parameter names as HF GPT2LMHeadModel.
//   Llama: RoPE (HF half-split), RMSNorm, q/k/v/o projections with n_kv_heads (MHA/GQA/MQA),
//          SwiGLU MLP, untied lm_head (or tied) — names as HF LlamaForCausalLM.
// The parameters live in one ParamStore, so checkpoints map 1:1 onto HF safetensors names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/lora.h"
#include "nn/ops.h"
#include "nn/param.h"
#include "nn/tape.h"

namespace loom::nn {

enum class Arch { Gpt2, Llama };

struct CausalLmConfig {
  Arch arch = Arch::Llama;
  int64_t vocab_size = 32000;
  int64_t max_seq = 256;  // GPT-2 n_positions; the longest T accepted
  int64_t d_model = 288;
  int64_t n_layers = 6;
  int64_t n_heads = 6;
  int64_t n_kv_heads = 6;  // Llama only; GPT-2 is MHA
  int64_t d_ff = 768;
  float norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  bool tie_embeddings = false;  // GPT-2: always tied
  LoraConfig lora;              // rank 0: no adapters

  int64_t head_dim() const { return d_model / n_heads; }
  // Throws loom::Error naming the bad field.
  void validate() const;
};

// One projection with a LoRA adapter: base weight, adapter parameter names and sizes.
struct LoraSite {
  std::string weight, a,
      b;  // "<module>.weight", "<module>.lora_A.weight", "<module>.lora_B.weight"
  WeightLayout layout;
  int64_t in = 0, out = 0;
};

class CausalLm {
 public:
  explicit CausalLm(const CausalLmConfig& cfg);
  const CausalLmConfig& config() const { return cfg_; }
  ParamStore& params() { return params_; }

  // Deterministic init from seed: weights ~ N(0, std), norm weights 1, biases 0; LoRA adapters
  // as init_lora(seed).
  void init(uint64_t seed, float std = 0.02f);
  // LoRA adapters only: A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's kaiming_uniform, a = sqrt(5)),
  // B = 0, so the adapted model starts equal to the base model.
  void init_lora(uint64_t seed);
  // The adapters, in parameter order (after every base parameter); empty without LoRA.
  const std::vector<LoraSite>& lora_sites() const { return lora_sites_; }
  bool is_lora_param(const std::string& name) const;
  // A parameter's values with every LoRA update on it merged in (W + alpha/r · B·A in W's
  // layout); for a parameter without an adapter, a plain copy.
  std::vector<float> merged_value(const std::string& name);
  // Common parameter groups: no weight decay on biases, norm weights (and position embeddings).
  void exclude_norms_and_biases_from_decay();

  // ids (B*T) -> hidden (B*T, C): the final norm's output, what logits() feeds to the head and
  // what embeddings pool (models::Model::hidden_states at inference).
  Var hidden(Tape& t, const int32_t* ids, int64_t batch, int64_t seq);
  // ids (B*T) -> logits (B*T, V)
  Var logits(Tape& t, const int32_t* ids, int64_t batch, int64_t seq);
  // ids, targets (B*T) -> mean next-token cross-entropy over targets != -100.
  Var loss(Tape& t, const int32_t* ids, const int32_t* targets, int64_t batch, int64_t seq);

  // Matmul FLOPs of one forward pass per token at length seq (backward is about twice this).
  double forward_flops_per_token(int64_t seq) const;

 private:
  Var block(Tape& t, Var x, int64_t layer, int64_t batch, int64_t seq);
  Var p(Tape& t, const std::string& name) { return t.param(params_.get(name)); }
  // linear() of a block's projection `module` (with its bias when `bias`), plus its LoRA update
  // when it has an adapter.
  Var proj(Tape& t, Var x, int64_t layer, const char* module, bool bias, WeightLayout layout);

  CausalLmConfig cfg_;
  ParamStore params_;
  std::vector<LoraSite> lora_sites_;
};

}  // namespace loom::nn
