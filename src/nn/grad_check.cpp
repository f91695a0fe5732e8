#include "nn/grad_check.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "core/rng.h"
#include "nn/ops.h"

namespace loom::nn {

GradCheckResult check_gradients(ThreadPool& pool, const std::vector<Tensor*>& inputs,
                                const GradCheckFn& fn, const GradCheckOptions& opt,
                                const std::vector<bool>& check) {
  Rng rng(opt.seed);
  std::vector<Tensor> grads;
  for (Tensor* x : inputs) grads.push_back(Tensor::zeros(x->shape()));

  // Analytic pass; also fixes the projection r from the output's shape.
  std::vector<float> r;
  Tape tape(pool);
  auto eval = [&](Tape& t, bool with_grad) -> double {
    t.reset();
    t.set_grad_enabled(with_grad);
    std::vector<Var> leaves;
    for (size_t i = 0; i < inputs.size(); ++i)
      leaves.push_back(t.leaf(inputs[i]->view(), grads[i].view()));
    Var y = fn(t, leaves);
    if (r.empty()) {
      r.resize(static_cast<size_t>(t.shape(y).numel()));
      for (auto& v : r) v = rng.uniform() * 2.0f - 1.0f;
    }
    Var l = weighted_sum(t, y, r.data());
    if (with_grad) t.backward(l);
    return t.data(l)[0];
  };
  eval(tape, true);

  GradCheckResult res;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!check.empty() && !check[i]) continue;
    float* x = inputs[i]->f32();
    const float* g = grads[i].f32();
    const int64_t n = inputs[i]->numel();
    const int64_t coords = std::min<int64_t>(n, opt.max_coords);
    for (int64_t c = 0; c < coords; ++c) {
      const int64_t j = coords == n ? c : static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
      const float saved = x[j];
      x[j] = saved + opt.h;
      double lp = eval(tape, false);
      x[j] = saved - opt.h;
      double lm = eval(tape, false);
      x[j] = saved;
      const double numeric = (lp - lm) / (2.0 * opt.h), analytic = g[j];
      const double bound = opt.atol + opt.rtol * std::max(std::fabs(numeric), std::fabs(analytic));
      const double excess = std::fabs(numeric - analytic) / bound;
      ++res.checked;
      if (excess > res.worst_excess) {
        res.worst_excess = excess;
        std::ostringstream os;
        os << "input " << i << " [" << j << "]: analytic " << analytic << " numeric " << numeric;
        res.worst = os.str();
      }
    }
  }
  res.ok = res.worst_excess <= 1.0;
  return res;
}

GradCheckResult check_param_gradients(ThreadPool& pool, ParamStore& params,
                                      const std::function<Var(Tape&)>& loss_fn,
                                      const GradCheckOptions& opt) {
  Rng rng(opt.seed);
  Tape tape(pool);
  auto eval = [&](bool with_grad) -> double {
    tape.reset();
    tape.set_grad_enabled(with_grad);
    Var l = loss_fn(tape);
    if (with_grad) tape.backward(l);
    return tape.data(l)[0];
  };
  params.zero_grad();
  eval(true);
  GradCheckResult res;
  for (size_t pi = 0; pi < params.params().size(); ++pi) {
    Parameter& p = *params.params()[pi];
    if (!p.trainable) continue;
    float* x = p.value.f32();
    const float* g = p.grad.f32();
    const int64_t n = p.numel(), coords = std::min<int64_t>(n, opt.max_coords);
    for (int64_t c = 0; c < coords; ++c) {
      const int64_t j = coords == n ? c : static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
      const float saved = x[j];
      x[j] = saved + opt.h;
      double lp = eval(false);
      x[j] = saved - opt.h;
      double lm = eval(false);
      x[j] = saved;
      const double numeric = (lp - lm) / (2.0 * opt.h), analytic = g[j];
      const double bound = opt.atol + opt.rtol * std::max(std::fabs(numeric), std::fabs(analytic));
      const double excess = std::fabs(numeric - analytic) / bound;
      ++res.checked;
      if (excess > res.worst_excess) {
        res.worst_excess = excess;
        std::ostringstream os;
        os << p.name << " [" << j << "]: analytic " << analytic << " numeric " << numeric;
        res.worst = os.str();
      }
    }
  }
  res.ok = res.worst_excess <= 1.0;
  return res;
}

}  // namespace loom::nn
