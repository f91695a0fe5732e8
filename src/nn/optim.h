// Optimisers (SGD with momentum, AdamW), learning-rate schedules and global-norm clipping over a
// ParamStore. Update rules follow torch.optim exactly (same operation order in f32), so ten steps
// match PyTorch step for step. Parameter groups are per-parameter settings (Parameter::trainable,
// decay, lr_scale, frozen_rows): a non-trainable parameter and every frozen row are skipped
// entirely — no gradient, no weight decay, no optimiser-state change.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "core/threads.h"
#include "nn/param.h"

namespace loom::nn {

// Global L2 norm of the trainable, unfrozen gradients; when it exceeds max_norm (> 0) every
// gradient is scaled by max_norm / (norm + 1e-6) (torch.nn.utils.clip_grad_norm_). Returns the
// norm before clipping (NaN/Inf when a gradient is not finite).
float clip_grad_norm(ParamStore& params, float max_norm);
// The same on the pool's threads (partial sums over fixed chunks, added in order: the result
// depends on the thread count only).
float clip_grad_norm(ParamStore& params, float max_norm, ThreadPool& pool);

struct SgdConfig {
  float momentum = 0.0f;
  float weight_decay = 0.0f;  // coupled L2 (torch.optim.SGD), only on Parameter::decay
  bool nesterov = false;
};

class Sgd {
 public:
  Sgd(ParamStore& params, SgdConfig cfg);
  // One update with learning rate lr (times each parameter's lr_scale).
  void step(float lr, ThreadPool& pool);
  int64_t steps() const { return steps_; }
  // Optimiser state for checkpoints: the momentum buffer, one float per store element.
  std::vector<float>& state() { return momentum_; }
  void set_steps(int64_t s) { steps_ = s; }

 private:
  ParamStore& params_;
  SgdConfig cfg_;
  std::vector<float> momentum_;
  int64_t steps_ = 0;
};

struct AdamWConfig {
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.01f;  // decoupled, only on Parameter::decay
};

class AdamW {
 public:
  AdamW(ParamStore& params, AdamWConfig cfg);
  void step(float lr, ThreadPool& pool);
  int64_t steps() const { return steps_; }
  void set_steps(int64_t s) { steps_ = s; }
  // First and second moments, one float per store element each (a single block per moment).
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }

 private:
  ParamStore& params_;
  AdamWConfig cfg_;
  std::vector<float> m_, v_;
  int64_t steps_ = 0;
};

// Learning rate at `step` (0-based): linear warmup from 0 to lr over warmup steps, then cosine or
// linear decay to min_lr at total_steps (constant: stays at lr).
enum class Decay { Constant, Linear, Cosine };
struct Schedule {
  float lr = 1e-3f;
  float min_lr = 0.0f;
  int64_t warmup = 0;
  int64_t total_steps = 1;
  Decay decay = Decay::Cosine;
  float at(int64_t step) const;
};

}  // namespace loom::nn
