#include "nn/optim.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace loom::nn {

namespace {

// Calls fn(param, row0, row1) over maximal runs of unfrozen rows of every trainable parameter.
template <typename F>
void for_each_trainable_run(ParamStore& params, F&& fn) {
  for (auto& pp : params.params()) {
    Parameter& p = *pp;
    if (!p.trainable) continue;
    if (p.frozen_rows.empty()) {
      fn(p, 0, p.rows());
      continue;
    }
    LOOM_ASSERT(static_cast<int64_t>(p.frozen_rows.size()) == p.rows(),
                "frozen_rows of " + p.name + " must have one entry per row");
    for (int64_t r = 0; r < p.rows();) {
      if (p.row_frozen(r)) {
        ++r;
        continue;
      }
      int64_t e = r;
      while (e < p.rows() && !p.row_frozen(e)) ++e;
      fn(p, r, e);
      r = e;
    }
  }
}

// One AdamW update in torch's operation order (a plain loop over restrict pointers so it
// vectorises). decay is exactly 1 without weight decay, as in torch.
void adamw_update(float* __restrict w, float* __restrict m, float* __restrict v,
                  const float* __restrict g, int64_t n, float decay, float b1, float omb1, float b2,
                  float omb2, float bc2_sqrt, float eps, float step_size) {
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = m[i] * b1 + omb1 * gi;
    const float vi = v[i] * b2 + omb2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / bc2_sqrt + eps;
    w[i] = w[i] * decay + (-step_size) * (mi / denom);
  }
}

}  // namespace

float clip_grad_norm(ParamStore& params, float max_norm) {
  double ss = 0;
  for_each_trainable_run(params, [&](Parameter& p, int64_t r0, int64_t r1) {
    const float* g = p.grad.f32() + r0 * p.cols();
    for (int64_t i = 0, n = (r1 - r0) * p.cols(); i < n; ++i)
      ss += static_cast<double>(g[i]) * g[i];
  });
  const float norm = static_cast<float>(std::sqrt(ss));
  if (max_norm > 0 && std::isfinite(norm) && norm > max_norm) {
    const float s = max_norm / (norm + 1e-6f);
    for_each_trainable_run(params, [&](Parameter& p, int64_t r0, int64_t r1) {
      float* g = p.grad.f32() + r0 * p.cols();
      for (int64_t i = 0, n = (r1 - r0) * p.cols(); i < n; ++i) g[i] *= s;
    });
  }
  return norm;
}

float clip_grad_norm(ParamStore& params, float max_norm, ThreadPool& pool) {
  const int64_t chunks = pool.size();
  std::vector<double> part(static_cast<size_t>(chunks));
  double ss = 0;
  for_each_trainable_run(params, [&](Parameter& p, int64_t r0, int64_t r1) {
    const float* g = p.grad.f32() + r0 * p.cols();
    const int64_t n = (r1 - r0) * p.cols(), per = (n + chunks - 1) / chunks;
    std::fill(part.begin(), part.end(), 0.0);
    pool.run(chunks, [&](int64_t c) {
      double s = 0;
      for (int64_t i = c * per, e = std::min(n, (c + 1) * per); i < e; ++i)
        s += static_cast<double>(g[i]) * g[i];
      part[static_cast<size_t>(c)] = s;
    });
    for (double s : part) ss += s;
  });
  const float norm = static_cast<float>(std::sqrt(ss));
  if (max_norm > 0 && std::isfinite(norm) && norm > max_norm) {
    const float s = max_norm / (norm + 1e-6f);
    for_each_trainable_run(params, [&](Parameter& p, int64_t r0, int64_t r1) {
      float* g = p.grad.f32() + r0 * p.cols();
      pool.parallel_for((r1 - r0) * p.cols(), 1 << 14, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) g[i] *= s;
      });
    });
  }
  return norm;
}

Sgd::Sgd(ParamStore& params, SgdConfig cfg)
    : params_(params), cfg_(cfg), momentum_(static_cast<size_t>(params.numel()), 0.0f) {}

void Sgd::step(float lr, ThreadPool& pool) {
  ++steps_;
  const bool first = steps_ == 1;
  for_each_trainable_run(params_, [&](Parameter& p, int64_t r0, int64_t r1) {
    const int64_t off = r0 * p.cols(), n = (r1 - r0) * p.cols();
    float* w = p.value.f32() + off;
    const float* g = p.grad.f32() + off;
    float* buf = momentum_.data() + p.offset + off;
    const float wd = p.decay ? cfg_.weight_decay : 0.0f, plr = lr * p.lr_scale;
    pool.parallel_for(n, 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        float d = g[i];
        if (wd != 0.0f) d = d + wd * w[i];
        if (cfg_.momentum != 0.0f) {
          // torch: the buffer starts as a copy of the first gradient, then buf = m·buf + d.
          buf[i] = first ? d : cfg_.momentum * buf[i] + d;
          d = cfg_.nesterov ? d + cfg_.momentum * buf[i] : buf[i];
        }
        w[i] = w[i] + (-plr) * d;
      }
    });
  });
}

AdamW::AdamW(ParamStore& params, AdamWConfig cfg)
    : params_(params),
      cfg_(cfg),
      m_(static_cast<size_t>(params.numel()), 0.0f),
      v_(static_cast<size_t>(params.numel()), 0.0f) {}

void AdamW::step(float lr, ThreadPool& pool) {
  ++steps_;
  // Scalars computed in double and rounded once, as torch does with Python floats.
  const double bc1 = 1.0 - std::pow(static_cast<double>(cfg_.beta1), static_cast<double>(steps_));
  const double bc2 = 1.0 - std::pow(static_cast<double>(cfg_.beta2), static_cast<double>(steps_));
  const float b1 = cfg_.beta1, b2 = cfg_.beta2, eps = cfg_.eps;
  const float omb1 = static_cast<float>(1.0 - static_cast<double>(b1));
  const float omb2 = static_cast<float>(1.0 - static_cast<double>(b2));
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  for_each_trainable_run(params_, [&](Parameter& p, int64_t r0, int64_t r1) {
    const int64_t off = r0 * p.cols(), n = (r1 - r0) * p.cols();
    float* w = p.value.f32() + off;
    const float* g = p.grad.f32() + off;
    float* m = m_.data() + p.offset + off;
    float* v = v_.data() + p.offset + off;
    const double plr = static_cast<double>(lr) * p.lr_scale;
    const double wd = p.decay ? cfg_.weight_decay : 0.0;
    const float decay = static_cast<float>(1.0 - plr * wd);
    const float step_size = static_cast<float>(plr / bc1);
    pool.parallel_for(n, 1 << 14, [&](int64_t b, int64_t e) {
      adamw_update(w + b, m + b, v + b, g + b, e - b, decay, b1, omb1, b2, omb2, bc2_sqrt, eps,
                   step_size);
    });
  });
}

float Schedule::at(int64_t step) const {
  if (warmup > 0 && step < warmup)
    return lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
  if (decay == Decay::Constant) return lr;
  const int64_t span = total_steps - warmup;
  if (span <= 0) return lr;
  double frac = static_cast<double>(step - warmup) / static_cast<double>(span);
  frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
  const double k = decay == Decay::Cosine ? 0.5 * (1.0 + std::cos(M_PI * frac)) : 1.0 - frac;
  return static_cast<float>(min_lr + (lr - min_lr) * k);
}

}  // namespace loom::nn
