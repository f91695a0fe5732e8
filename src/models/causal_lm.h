// A trainable language model: any architecture of the registry, its parameters the spec's tensors
// in Hugging Face names and layouts (so checkpoints map 1:1 onto HF safetensors), LoRA adapters on
// the spec's LoRA targets, and the architecture's one forward pass run on nn's tape
// (models/tape_ops.cpp) for forward and backward. Encoders (BERT, RoBERTa) run through it too,
// with token types and a key padding mask (TokenBatch); loss() is next-token and so causal only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/decoder.h"
#include "models/tape_ops.h"
#include "nn/lora.h"
#include "nn/ops.h"
#include "nn/param.h"
#include "nn/tape.h"

namespace loom::models {

// One projection with a LoRA adapter: base weight, adapter parameter names and sizes.
struct LoraSite {
  std::string weight, a,
      b;  // "<module>.weight", "<module>.lora_A.weight", "<module>.lora_B.weight"
  nn::WeightLayout layout;
  int64_t in = 0, out = 0;
  Wt w;  // the base weight's role and layer
};

// Checks a config built by hand (training from scratch); a loom::Error names the bad field.
void validate_config(const DecoderConfig& c);

class CausalLm {
 public:
  // cfg.arch names the architecture; LoRA targets are the spec's LoRA names (q, k, v, o, gate,
  // up, down; qkv, o, fc, down for GPT-2) or the projections' module names (self_attn.q_proj).
  // score_labels > 0 adds a sequence-classification head as transformers'
  // *ForSequenceClassification names it: on an encoder with a pooler (BERT, RoBERTa with one),
  // "classifier.weight" (score_labels, C) and "classifier.bias" on the pooled output
  // (BertForSequenceClassification); elsewhere "score.weight" (score_labels, C), no bias, read at
  // the last non-pad token (LlamaForSequenceClassification, GPT2ForSequenceClassification). A
  // reward model is score_labels = 1.
  explicit CausalLm(const DecoderConfig& cfg, const nn::LoraConfig& lora = {},
                    int64_t score_labels = 0);
  const DecoderConfig& config() const { return cfg_; }
  const Architecture& architecture() const { return arch_; }
  const nn::LoraConfig& lora() const { return lora_; }
  nn::ParamStore& params() { return params_; }
  // The parameter of a role and layer, or nullptr when the model has none (an absent head).
  nn::Parameter* param(Wt w) const {
    return by_role_[static_cast<size_t>(w.role)][static_cast<size_t>(w.layer)];
  }
  const LoraSite* lora_site(Wt w) const;
  // The classification head's weight (score.weight or classifier.weight) and bias (classifier.bias
  // only), or nullptr without them.
  nn::Parameter* score_head() const { return score_; }
  nn::Parameter* score_bias() const { return score_bias_; }

  // Deterministic init from seed: weights ~ N(0, std), norm weights 1, biases 0; LoRA adapters
  // as init_lora(seed).
  void init(uint64_t seed, float std = 0.02f);
  // LoRA adapters only: A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's kaiming_uniform, a = sqrt(5)),
  // B = 0, so the adapted model starts equal to the base model.
  void init_lora(uint64_t seed);
  // The classification head only: weight ~ N(0, std) (transformers' initializer_range 0.02), bias
  // 0, for a head added to a pretrained model.
  void init_score(uint64_t seed, float std = 0.02f);
  // The adapters, in parameter order (after every base parameter); empty without LoRA.
  const std::vector<LoraSite>& lora_sites() const { return lora_sites_; }
  bool is_lora_param(const std::string& name) const;
  // A parameter's values with every LoRA update on it merged in (W + alpha/r · B·A in W's
  // layout); for a parameter without an adapter, a plain copy.
  std::vector<float> merged_value(const std::string& name);
  // Common parameter groups: no weight decay on biases, norm weights (and position embeddings).
  void exclude_norms_and_biases_from_decay();

  // ids (B*T) -> hidden (B*T, C): the final norm's output, what logits() feeds to the head and
  // what embeddings pool (Model::hidden_states at inference).
  nn::Var hidden(nn::Tape& t, const int32_t* ids, int64_t batch, int64_t seq);
  // The same for a batch with an encoder's token types and key padding mask.
  nn::Var hidden(nn::Tape& t, const TokenBatch& in);
  // hidden (B*T, C) of `in` -> the head's logits (B*T, V) (an encoder's: its masked-LM head).
  nn::Var head(nn::Tape& t, const TokenBatch& in, nn::Var hidden);
  // hidden (B*T, C) of `in` -> (B, C): BERT's pooler on each sequence's first token; a
  // loom::Error for an architecture without one.
  nn::Var pooled(nn::Tape& t, const TokenBatch& in, nn::Var hidden);
  // Encoder-decoders (T5): in's encoder inputs -> the encoder's output (B*S, C); given it, in's
  // decoder inputs -> the decoder's hidden states (B*T, C) (hidden(t, in) is the two at once;
  // head() turns them into logits).
  nn::Var encoded(nn::Tape& t, const TokenBatch& in);
  nn::Var decoded(nn::Tape& t, const TokenBatch& in, nn::Var encoder_out);
  // labels (B*T, aligned with in's decoder inputs, which are the labels shifted right behind
  // decoder_start_token_id; -100 ignored) -> mean cross-entropy of the decoder's logits.
  nn::Var seq2seq_loss(nn::Tape& t, const TokenBatch& in, const int32_t* labels);
  // ids (B*T), last (B): the row of each sequence to read (its last non-pad token) -> scores
  // (B, score_labels) = score.weight · hidden[b*T + last[b]], what *ForSequenceClassification
  // computes (it reads the last non-pad token too). A loom::Error without a scoring head.
  nn::Var score(nn::Tape& t, const int32_t* ids, int64_t batch, int64_t seq, const int32_t* last);
  // The classification logits (B, score_labels) of a batch with an encoder's token types and key
  // mask: classifier(pooled(hidden)) with a pooled head, otherwise score() at last[b] (last may be
  // nullptr then: nothing reads it). A loom::Error without a head.
  nn::Var classify(nn::Tape& t, const TokenBatch& in, const int32_t* last);
  // ids (B*T) -> logits (B*T, V)
  nn::Var logits(nn::Tape& t, const int32_t* ids, int64_t batch, int64_t seq);
  // ids, targets (B*T) -> mean next-token cross-entropy over targets != -100.
  nn::Var loss(nn::Tape& t, const int32_t* ids, const int32_t* targets, int64_t batch, int64_t seq);

  // Matmul FLOPs of one forward pass per token at length seq (backward is about twice this).
  double forward_flops_per_token(int64_t seq) const;

 private:
  void add_params();
  void check_lengths(const TokenBatch& in) const;
  void add_lora();
  const Architecture& arch_;
  DecoderConfig cfg_;
  nn::LoraConfig lora_;
  nn::ParamStore params_;
  std::vector<std::vector<nn::Parameter*>> by_role_;  // [role][layer]
  std::vector<LoraSite> lora_sites_;
  nn::Parameter* score_ = nullptr;
  nn::Parameter* score_bias_ = nullptr;
  std::vector<std::vector<int32_t>> lora_by_role_;  // [role][layer] -> index or -1
};

}  // namespace loom::models
