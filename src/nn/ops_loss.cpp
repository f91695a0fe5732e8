// Fused softmax cross-entropy with ignore-index: forward and backward.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "nn/ops.h"

namespace loom::nn {

// ---- cross_entropy: logits (N,V), targets (N) -> loss (1) ----
// Forward keeps softmax(logits) (N,V) when a gradient is needed; backward turns it in place into
// g/count · (softmax - onehot) and hands it to the logits as their gradient (no second exp pass,
// no zero-filled gradient buffer).
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
  const bool keep = t.requires_grad(y);
  float* probs = keep ? t.save<float>(n * vocab) : nullptr;  // softmax rows (N,V)
  float* row_loss = t.save<float>(n);
  int32_t* tg = t.save<int32_t>(n);
  std::memcpy(tg, targets, static_cast<size_t>(n) * sizeof(int32_t));
  const float* ld = t.data(logits);
  t.pool().parallel_for(n, 4, [&](int64_t r0, int64_t r1) {
    std::vector<float> tmp(keep ? 0 : static_cast<size_t>(vocab));
    for (int64_t i = r0; i < r1; ++i) {
      float* p = keep ? probs + i * vocab : tmp.data();
      if (tg[i] == ignore_index) {
        row_loss[i] = 0;
        if (keep) std::memset(p, 0, static_cast<size_t>(vocab) * sizeof(float));
        continue;
      }
      const float* x = ld + i * vocab;
      std::memcpy(p, x, static_cast<size_t>(vocab) * sizeof(float));
      const float lse = softmax(p, vocab);  // p = softmax(x), returns logsumexp
      row_loss[i] = lse - x[tg[i]];
    }
  });
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += row_loss[i];
  t.data(y)[0] = count > 0 ? static_cast<float>(total / static_cast<double>(count)) : 0.0f;
  t.on_backward(y, [&t, logits, y, probs, tg, n, vocab, count, ignore_index] {
    const float g = count > 0 ? t.grad(y)[0] / static_cast<float>(count) : 0.0f;
    // probs <- g · (probs - onehot); ignored rows are already zero.
    t.pool().parallel_for(n, 4, [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) {
        if (tg[i] == ignore_index) continue;
        float* p = probs + i * vocab;
        scale(p, g, vocab);
        p[tg[i]] -= g;
      }
    });
    if (!t.adopt_grad(logits, probs)) {
      float* dl = t.grad(logits);
      t.pool().parallel_for(n * vocab, 1 << 16,
                            [&](int64_t b, int64_t e) { axpy(1.0f, probs + b, dl + b, e - b); });
    }
  });
  return y;
}

}  // namespace loom::nn
