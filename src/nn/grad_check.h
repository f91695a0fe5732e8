// The one finite-difference gradient checker, applied to every op and to whole blocks.
//
// The function under test maps leaf tensors to any output y; the checker projects it to a scalar
// L = Σ y·r with a fixed random r (so every output element matters), computes dL/dx on the tape,
// and compares it with the central difference (L(x+h) - L(x-h)) / 2h at sampled coordinates of
// each input. A coordinate passes when |analytic - numeric| <= atol + rtol·max(|analytic|,
// |numeric|). With f32 forward passes and h = 1e-2 the stated tolerance is atol 2e-3,
// rtol 2e-2 (truncation O(h²), rounding O(eps·|L|/h)).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/threads.h"
#include "nn/tape.h"

namespace loom::nn {

struct GradCheckOptions {
  float h = 1e-2f;
  double atol = 2e-3, rtol = 2e-2;
  int max_coords = 24;  // sampled coordinates per input (all when the input is smaller)
  uint64_t seed = 1;
};

struct GradCheckResult {
  bool ok = true;
  int64_t checked = 0;
  double worst_excess = 0;  // max of |a-n| / (atol + rtol·max(|a|,|n|)); <= 1 passes
  std::string worst;        // "input 1 [37]: analytic 0.1 numeric 0.12"
};

using GradCheckFn = std::function<Var(Tape&, const std::vector<Var>&)>;

// inputs: f32 tensors (perturbed in place and restored); check[i] false skips input i's
// gradient (it is still a leaf). An empty `check` checks every input.
GradCheckResult check_gradients(ThreadPool& pool, const std::vector<Tensor*>& inputs,
                                const GradCheckFn& fn, const GradCheckOptions& opt = {},
                                const std::vector<bool>& check = {});

// The same check over every parameter of a store: loss_fn builds a scalar loss that reads the
// store's parameters (through Tape::param); the store's values are perturbed in place.
GradCheckResult check_param_gradients(ThreadPool& pool, ParamStore& params,
                                      const std::function<Var(Tape&)>& loss_fn,
                                      const GradCheckOptions& opt = {});

}  // namespace loom::nn
