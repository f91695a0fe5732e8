// Sequence pooling on the tape, forward and backward side by side.
#include "nn/seq_pool.h"

#include <cstring>

#include "core/error.h"

namespace loom::nn {

SeqPool seq_pool_from_name(const std::string& name) {
  if (name == "mean") return SeqPool::Mean;
  if (name == "last") return SeqPool::Last;
  if (name == "cls") return SeqPool::Cls;
  if (name == "weighted-mean") return SeqPool::WeightedMean;
  throw Error("unknown pooling '" + name + "': expected mean, last, cls or weighted-mean");
}

const char* seq_pool_name(SeqPool p) {
  switch (p) {
    case SeqPool::Mean:
      return "mean";
    case SeqPool::Last:
      return "last";
    case SeqPool::Cls:
      return "cls";
    case SeqPool::WeightedMean:
      return "weighted-mean";
  }
  return "?";
}

// ---- pool_sequences: h (B*T, C) -> y (B, C) ----
// y_b = sum_t w[b,t] · h[b*T + t] with weights w (B, T) fixed by the kind and len_b (zero past
// len_b); backward: dh[b*T + t] += w[b,t] · dy_b.
Var pool_sequences(Tape& t, Var h, const int32_t* lens, int64_t batch, int64_t seq, SeqPool kind) {
  const int64_t c = t.shape(h).last();
  LOOM_ASSERT(t.shape(h).rows() == batch * seq, "pool_sequences: h must be (batch*seq, C)");
  float* w = t.save<float>(batch * seq);  // (B, T)
  std::memset(w, 0, sizeof(float) * static_cast<size_t>(batch * seq));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t n = lens[b];
    if (n < 1 || n > seq)
      throw Error("pool_sequences: sequence " + std::to_string(b) + " has length " +
                  std::to_string(n) + ", expected 1.." + std::to_string(seq));
    float* wb = w + b * seq;
    switch (kind) {
      case SeqPool::Mean:
        for (int64_t i = 0; i < n; ++i) wb[i] = 1.0f / static_cast<float>(n);
        break;
      case SeqPool::Last:
        wb[n - 1] = 1.0f;
        break;
      case SeqPool::Cls:
        wb[0] = 1.0f;
        break;
      case SeqPool::WeightedMean: {
        const float s = 2.0f / (static_cast<float>(n) * static_cast<float>(n + 1));
        for (int64_t i = 0; i < n; ++i) wb[i] = static_cast<float>(i + 1) * s;
        break;
      }
    }
  }
  Var y = t.node(Shape{batch, c}, {h});
  const float* hd = t.data(h);
  float* yd = t.data(y);
  for (int64_t b = 0; b < batch; ++b) {
    float* yb = yd + b * c;
    std::memset(yb, 0, sizeof(float) * static_cast<size_t>(c));
    for (int64_t i = 0; i < seq; ++i) {
      const float wi = w[b * seq + i];
      if (wi == 0.0f) continue;
      const float* hi = hd + (b * seq + i) * c;
      for (int64_t j = 0; j < c; ++j) yb[j] += wi * hi[j];
    }
  }
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
