// LoRA adapters (Hu et al. 2021, as PEFT implements them): a frozen linear weight W gets a
// trainable low-rank update, y = x·Wᵀ + b + (alpha / r) · (x·Aᵀ)·Bᵀ with A (r, in) and B (out, r).
// A starts as PEFT's kaiming_uniform(a=√5), i.e. U(-1/√in, 1/√in), and B as zeros, so training
// starts from the base model exactly. merge_lora() folds the update into W for saving.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/ops.h"
#include "nn/tape.h"

namespace loom::nn {

struct LoraConfig {
  int64_t rank = 0;  // 0: no adapters
  float alpha = 16.0f;
  // Projection names relative to a block, as the model names them ("self_attn.q_proj",
  // "mlp.c_fc", ...); CausalLm resolves short names (q, k, v, o, gate, up, down, qkv, fc, proj).
  std::vector<std::string> targets;
  float scale() const { return rank > 0 ? alpha / static_cast<float>(rank) : 0.0f; }
};

// a, b (same shape) -> y = a + s·b.
Var add_scaled(Tape& t, Var a, Var b, float s);

// x (N,in), w (out,in) or (in,out) by layout, bias (out) or undefined, a (r,in), b (out,r)
// -> y (N,out) = linear(x, w, bias) + scale · linear(linear(x, a), b).
Var lora_linear(Tape& t, Var x, Var w, Var bias, WeightLayout layout, Var a, Var b, float scale);

// w += scale · Bᵀ-product: for OutIn w (out,in) += scale·B·A; for InOut w (in,out) += scale·(B·A)ᵀ.
void merge_lora(float* w, WeightLayout layout, const float* a, const float* b, int64_t out,
                int64_t in, int64_t rank, float scale);

}  // namespace loom::nn
