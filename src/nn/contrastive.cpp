// Contrastive losses: row L2 normalisation and InfoNCE, forward and backward side by side.
#include "nn/contrastive.h"

#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "nn/ops.h"

namespace loom::nn {

// ---- l2_normalize_rows: x (N,C) -> y (N,C) ----
// Backward: dx = (dy - y · (y·dy)) / max(||x||, eps); below eps the map is x / eps, dx = dy / eps.
Var l2_normalize_rows(Tape& t, Var x) {
  constexpr double kEps = 1e-12;
  const int64_t n = t.shape(x).rows(), c = t.shape(x).last();
  Var y = t.node(t.shape(x), {x});
  const float* xd = t.data(x);
  float* yd = t.data(y);
  float* norm = t.save<float>(n);  // max(||x_i||, eps) (N)
  bool* small = t.save<bool>(n);
  t.pool().parallel_for(n, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      double s = 0;
      for (int64_t j = 0; j < c; ++j) s += static_cast<double>(xd[i * c + j]) * xd[i * c + j];
      const double nm = std::sqrt(s);
      small[i] = nm <= kEps;
      const double d = small[i] ? kEps : nm;
      norm[i] = static_cast<float>(d);
      for (int64_t j = 0; j < c; ++j) yd[i * c + j] = static_cast<float>(xd[i * c + j] / d);
    }
  });
  t.on_backward(y, [&t, x, y, norm, small, n, c] {
    const float *yv = t.data(y), *dy = t.grad(y);
    float* dx = t.grad(x);
    t.pool().parallel_for(n, 16, [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) {
        const float* yi = yv + i * c;
        const float* gi = dy + i * c;
        double yg = 0;
        if (!small[i])
          for (int64_t j = 0; j < c; ++j) yg += static_cast<double>(yi[j]) * gi[j];
        for (int64_t j = 0; j < c; ++j)
          dx[i * c + j] += static_cast<float>((gi[j] - yi[j] * yg) / norm[i]);
      }
    });
  });
  return y;
}

namespace {

// Row-wise log-softmax statistics: for logits s (n entries, stride `step`), writes softmax into
// prob (same stride) and returns logsumexp.
double softmax_into(const double* s, int64_t n, int64_t step, double* prob) {
  double mx = -INFINITY;
  for (int64_t k = 0; k < n; ++k) mx = std::max(mx, s[k * step]);
  double z = 0;
  for (int64_t k = 0; k < n; ++k) z += std::exp(s[k * step] - mx);
  for (int64_t k = 0; k < n; ++k) prob[k * step] = std::exp(s[k * step] - mx) / z;
  return mx + std::log(z);
}

}  // namespace

// ---- info_nce: q (B,C), p (B,C), neg (M,C) -> loss (1) ----
// Forward keeps dS/dloss's shape-(B, B+M) coefficient matrix G = w_r/B · (P_row - I) +
// w_c/B · (P_col - I) (the column part on the first B columns only); backward scales it by the
// incoming gradient / temperature: dq = G · [p; neg], d[p; neg] = Gᵀ · q.
namespace {

void check_info_nce(Tape& t, Var q, Var p, Var neg, const InfoNceOptions& o) {
  const int64_t b = t.shape(q).rows(), c = t.shape(q).last();
  if (!(o.temperature > 0)) {
    throw Error("info_nce: temperature " + std::to_string(o.temperature) + ": expected > 0");
  }
  if (t.shape(p).rows() != b || t.shape(p).last() != c) {
    throw Error("info_nce: positives are (" + std::to_string(t.shape(p).rows()) + ", " +
                std::to_string(t.shape(p).last()) + "), expected one per query: (" +
                std::to_string(b) + ", " + std::to_string(c) + ")");
  }
  if (neg.defined() && t.shape(neg).last() != c) {
    throw Error("info_nce: hard negatives have " + std::to_string(t.shape(neg).last()) +
                " columns, expected " + std::to_string(c));
  }
  LOOM_ASSERT(b >= 1, "info_nce: empty batch");
}

// The W = B + M document rows [p; neg] (C each): positives, then hard negatives.
struct Docs {
  const float* pos;  // (B, C)
  const float* neg;  // (M, C), null when M = 0
  int64_t b, c;
  const float* operator()(int64_t j) const { return j < b ? pos + j * c : neg + (j - b) * c; }
};

Docs docs_of(Tape& t, Var p, Var neg) {
  return {t.data(p), neg.defined() ? t.data(neg) : nullptr, t.shape(p).rows(), t.shape(p).last()};
}

// q (B,C), docs (W,C) -> logits S (B,W) = q · docsᵀ / temperature, in double.
void info_nce_logits(ThreadPool& pool, const float* qd, const Docs& doc, int64_t w, double inv_tau,
                     double* s) {
  const int64_t c = doc.c;
  pool.parallel_for(doc.b, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i)
      for (int64_t j = 0; j < w; ++j) {
        const float* dj = doc(j);
        double acc = 0;
        for (int64_t k = 0; k < c; ++k) acc += static_cast<double>(qd[i * c + k]) * dj[k];
        s[i * w + j] = acc * inv_tau;
      }
  });
}

// S (B,W) -> G (B,W) as above; returns the loss. tmp (B,W) is scratch for the column softmax.
double info_nce_coefficients(const double* s, int64_t b, int64_t w, bool symmetric, double* g,
                             double* tmp) {
  const double wr = symmetric ? 0.5 : 1.0, wc = symmetric ? 0.5 : 0.0;
  double row_loss = 0, col_loss = 0;
  for (int64_t i = 0; i < b; ++i) {
    row_loss += softmax_into(s + i * w, w, 1, g + i * w) - s[i * w + i];
    g[i * w + i] -= 1;
  }
  for (int64_t k = 0; k < b * w; ++k) g[k] *= wr / static_cast<double>(b);
  if (symmetric) {
    for (int64_t j = 0; j < b; ++j) {
      col_loss += softmax_into(s + j, b, w, tmp + j) - s[j * w + j];
      tmp[j * w + j] -= 1;
    }
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < b; ++j) g[i * w + j] += wc / static_cast<double>(b) * tmp[i * w + j];
  }
  return (wr * row_loss + wc * col_loss) / static_cast<double>(b);
}

// dq (B,C) += scale · G · docs.
void info_nce_backward_queries(ThreadPool& pool, const double* g, const Docs& doc, int64_t w,
                               double scale, float* dq) {
  const int64_t c = doc.c;
  pool.parallel_for(doc.b, 1, [&](int64_t r0, int64_t r1) {
    std::vector<double> acc(static_cast<size_t>(c));
    for (int64_t i = r0; i < r1; ++i) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < w; ++j) {
        const float* dj = doc(j);
        const double gij = g[i * w + j];
        for (int64_t k = 0; k < c; ++k) acc[k] += gij * dj[k];
      }
      for (int64_t k = 0; k < c; ++k) dq[i * c + k] += static_cast<float>(scale * acc[k]);
    }
  });
}

// dp (B,C), dn (M,C) += scale · Gᵀ · q; either may be null.
void info_nce_backward_docs(ThreadPool& pool, const double* g, const float* qd, int64_t b,
                            int64_t w, int64_t c, double scale, float* dp, float* dn) {
  pool.parallel_for(w, 1, [&](int64_t j0, int64_t j1) {
    std::vector<double> acc(static_cast<size_t>(c));
    for (int64_t j = j0; j < j1; ++j) {
      float* out = j < b ? (dp ? dp + j * c : nullptr) : (dn ? dn + (j - b) * c : nullptr);
      if (out == nullptr) continue;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t i = 0; i < b; ++i) {
        const double gij = g[i * w + j];
        for (int64_t k = 0; k < c; ++k) acc[k] += gij * qd[i * c + k];
      }
      for (int64_t k = 0; k < c; ++k) out[k] += static_cast<float>(scale * acc[k]);
    }
  });
}

}  // namespace

Var info_nce(Tape& t, Var q, Var p, Var neg, const InfoNceOptions& o) {
  check_info_nce(t, q, p, neg, o);
  const int64_t b = t.shape(q).rows(), c = t.shape(q).last();
  const int64_t m = neg.defined() ? t.shape(neg).rows() : 0;
  const int64_t w = b + m;  // columns: positives, then hard negatives
  const double inv_tau = 1.0 / o.temperature;
  double* s = t.save<double>(b * w);  // logits S (B, W)
  info_nce_logits(t.pool(), t.data(q), docs_of(t, p, neg), w, inv_tau, s);
  double* g = t.save<double>(b * w);  // G (B, W), see above
  double* tmp = t.save<double>(b * w);
  const double loss = info_nce_coefficients(s, b, w, o.symmetric, g, tmp);
  Var y = neg.defined() ? t.node(Shape{1}, {q, p, neg}) : t.node(Shape{1}, {q, p});
  t.data(y)[0] = static_cast<float>(loss);
  t.on_backward(y, [&t, q, p, neg, y, g, b, m, w, c, inv_tau] {
    const double scale = static_cast<double>(t.grad(y)[0]) * inv_tau;
    if (float* dq = t.grad(q)) {
      info_nce_backward_queries(t.pool(), g, docs_of(t, p, neg), w, scale, dq);
    }
    float* dp = t.grad(p);
    float* dn = m > 0 ? t.grad(neg) : nullptr;
    if (dp == nullptr && dn == nullptr) return;
    info_nce_backward_docs(t.pool(), g, t.data(q), b, w, c, scale, dp, dn);
  });
  return y;
}

Var matryoshka_info_nce(Tape& t, Var q, Var p, Var neg, const std::vector<int64_t>& dims,
                        const std::vector<float>& weights, const InfoNceOptions& o) {
  const int64_t c = t.shape(q).last();
  if (dims.empty()) throw Error("matryoshka loss: no dimensions given");
  if (!weights.empty() && weights.size() != dims.size()) {
    throw Error("matryoshka loss: " + std::to_string(weights.size()) + " weights for " +
                std::to_string(dims.size()) + " dimensions");
  }
  Var total;
  for (size_t k = 0; k < dims.size(); ++k) {
    const int64_t d = dims[k];
    if (d <= 0 || d > c) {
      throw Error("matryoshka loss: dimension " + std::to_string(d) + ": expected 1.." +
                  std::to_string(c));
    }
    auto cut = [&](Var v) {
      return v.defined() ? l2_normalize_rows(t, d == c ? v : slice_cols(t, v, 0, d)) : Var{};
    };
    Var l = info_nce(t, cut(q), cut(p), cut(neg), o);
    // weighted_sum of a (1) tensor with r = weight is weight · l.
    float* r = t.save<float>(1);
    r[0] = weights.empty() ? 1.0f : weights[k];
    l = weighted_sum(t, l, r);
    total = total.defined() ? add(t, total, l) : l;
  }
  return total;
}

}  // namespace loom::nn
