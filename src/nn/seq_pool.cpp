// Sequence pooling on the tape: forward (core's pool_rows per sequence) and backward side by side.
#include "nn/seq_pool.h"

#include <cstring>

#include "core/error.h"

namespace loom::nn {

// ---- pool_sequences: h (B*T, C) -> y (B, C) ----
// y_b = sum_t w[b,t] · h[b*T + t] with w[b,t] = pooling_weight(kind, t, len_b) (zero past
// len_b); backward: dh[b*T + t] += w[b,t] · dy_b.
Var pool_sequences(Tape& t, Var h, const int32_t* lens, int64_t batch, int64_t seq, Pooling kind) {
  const int64_t c = t.shape(h).last();
  LOOM_ASSERT(t.shape(h).rows() == batch * seq, "pool_sequences: h must be (batch*seq, C)");
  float* w = t.save<float>(batch * seq);  // (B, T)
  std::memset(w, 0, sizeof(float) * static_cast<size_t>(batch * seq));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t n = lens[b];
    if (n < 1 || n > seq)
      throw Error("pool_sequences: sequence " + std::to_string(b) + " has length " +
                  std::to_string(n) + ", expected 1.." + std::to_string(seq));
    for (int64_t i = 0; i < n; ++i) w[b * seq + i] = pooling_weight(kind, i, n);
  }
  Var y = t.node(Shape{batch, c}, {h});
  const float* hd = t.data(h);
  float* yd = t.data(y);
  for (int64_t b = 0; b < batch; ++b) pool_rows(hd + b * seq * c, lens[b], c, kind, yd + b * c);
  t.on_backward(y, [&t, h, y, w, batch, seq, c] {
    const float* dy = t.grad(y);
    float* dh = t.grad(h);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < seq; ++i) {
        const float wi = w[b * seq + i];
        if (wi == 0.0f) continue;
        float* di = dh + (b * seq + i) * c;
        const float* g = dy + b * c;
        for (int64_t j = 0; j < c; ++j) di[j] += wi * g[j];
      }
  });
  return y;
}

}  // namespace loom::nn
