#include "nn/lora.h"

#include "core/error.h"
#include "core/kernels.h"

namespace loom::nn {

// ---- add_scaled: a, b -> a + s·b ----
Var add_scaled(Tape& t, Var a, Var b, float s) {
  LOOM_ASSERT(t.shape(a) == t.shape(b), "add_scaled: shapes differ");
  Var y = t.node(t.shape(a), {a, b});
  const int64_t n = t.shape(a).numel();
  const float *ad = t.data(a), *bd = t.data(b);
  float* yd = t.data(y);
  t.pool().parallel_for(n, 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) yd[i] = ad[i] + s * bd[i];
  });
  t.on_backward(y, [&t, a, b, y, s, n] {
    const float* g = t.grad(y);
    if (t.requires_grad(a)) {
      float* d = t.grad(a);
      t.pool().parallel_for(n, 1 << 14,
                            [&](int64_t i0, int64_t i1) { axpy(1.0f, g + i0, d + i0, i1 - i0); });
    }
    if (t.requires_grad(b)) {
      float* d = t.grad(b);
      t.pool().parallel_for(n, 1 << 14,
                            [&](int64_t i0, int64_t i1) { axpy(s, g + i0, d + i0, i1 - i0); });
    }
  });
  return y;
}

Var lora_linear(Tape& t, Var x, Var w, Var bias, WeightLayout layout, Var a, Var b, float scale) {
  Var base = linear(t, x, w, bias, layout);  // (N,out)
  Var h = linear(t, x, a);                   // (N,r)
  Var u = linear(t, h, b);                   // (N,out)
  return add_scaled(t, base, u, scale);
}

void merge_lora(float* w, WeightLayout layout, const float* a, const float* b, int64_t out,
                int64_t in, int64_t rank, float scale) {
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      double acc = 0;
      for (int64_t r = 0; r < rank; ++r)
        acc += static_cast<double>(b[o * rank + r]) * static_cast<double>(a[r * in + i]);
      float& dst = layout == WeightLayout::OutIn ? w[o * in + i] : w[i * out + o];
      dst += static_cast<float>(scale * acc);
    }
}

}  // namespace loom::nn
