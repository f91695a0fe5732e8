// Fused softmax cross-entropy with ignore-index: forward and backward.
#include <cmath>
#include <string>

#include "core/error.h"
#include "nn/ops.h"

namespace loom::nn {

// ---- cross_entropy: logits (N,V), targets (N) -> loss (1) ----
Var cross_entropy(Tape& t, Var logits, const int32_t* targets, int64_t n, int32_t ignore_index) {
  const int64_t vocab = t.shape(logits).last();
  LOOM_ASSERT(t.shape(logits).rows() == n, "cross_entropy: one target per row");
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (targets[i] == ignore_index) continue;
    if (targets[i] < 0 || targets[i] >= vocab)
      throw Error("cross_entropy: target " + std::to_string(targets[i]) + " at position " +
                  std::to_string(i) + " is outside [0, " + std::to_string(vocab) + ")");
    ++count;
  }
  Var y = t.node(Shape{1}, {logits});
  float* lse = t.save<float>(n);  // logsumexp per row
  float* row_loss = t.save<float>(n);
  int32_t* tg = t.save<int32_t>(n);
  const float* ld = t.data(logits);
  t.pool().parallel_for(n, 4, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      tg[i] = targets[i];
      if (targets[i] == ignore_index) {
        row_loss[i] = 0;
        continue;
      }
      const float* x = ld + i * vocab;
      float m = max_of(x, vocab);
      float s = 0;
      for (int64_t j = 0; j < vocab; ++j) s += std::exp(x[j] - m);
      lse[i] = m + std::log(s);
      row_loss[i] = lse[i] - x[targets[i]];
    }
  });
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += row_loss[i];
  t.data(y)[0] = count > 0 ? static_cast<float>(total / static_cast<double>(count)) : 0.0f;
  t.on_backward(y, [&t, logits, y, lse, tg, n, vocab, count, ignore_index] {
    if (count == 0) return;
    const float g = t.grad(y)[0] / static_cast<float>(count);
    const float* ld = t.data(logits);
    float* dl = t.grad(logits);
    t.pool().parallel_for(n, 4, [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) {
        if (tg[i] == ignore_index) continue;
        const float* x = ld + i * vocab;
        float* d = dl + i * vocab;
        const float l = lse[i];
        for (int64_t j = 0; j < vocab; ++j) d[j] += g * std::exp(x[j] - l);
        d[tg[i]] -= g;
      }
    });
  });
  return y;
}

}  // namespace loom::nn
