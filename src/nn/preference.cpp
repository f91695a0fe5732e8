// Preference losses: forward and backward side by side (definitions in preference.h). Sums run
// in double; B is a batch size, so the per-pair loops are cheap.
#include "nn/preference.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/threads.h"

namespace loom::nn {

double log_sigmoid(double x) {
  return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x));
}

namespace {

double sigmoid(double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}

// Each of `vars` must be (B, 1) (or B elements): one value per pair.
int64_t pair_count(Tape& t, std::initializer_list<Var> vars, const char* what) {
  const int64_t b = t.shape(*vars.begin()).numel();
  for (Var v : vars)
    if (t.shape(v).numel() != b)
      throw Error(std::string(what) + ": inputs of " + std::to_string(t.shape(v).numel()) +
                  " and " + std::to_string(b) + " values: expected one per pair each");
  if (b < 1) throw Error(std::string(what) + ": empty batch");
  return b;
}

// Adds coef[i] · sign to the gradient of v (when it needs one).
void add_grad(Tape& t, Var v, const double* coef, int64_t b, double sign) {
  float* g = t.grad(v);
  if (!g) return;
  for (int64_t i = 0; i < b; ++i) g[i] += static_cast<float>(sign * coef[i]);
}

}  // namespace

// ---- sequence_logprobs: logits (B*T, V), targets (B*T) -> (B, 1) ----
Var sequence_logprobs(Tape& t, Var logits, const int32_t* targets, int64_t batch, int64_t seq,
                      int32_t ignore_index) {
  const int64_t n = t.shape(logits).rows(), v = t.shape(logits).last();
  if (n != batch * seq)
    throw Error("sequence_logprobs: " + std::to_string(n) +
                " rows of logits, expected B*T = " + std::to_string(batch * seq));
  for (int64_t i = 0; i < n; ++i)
    if (targets[i] != ignore_index && (targets[i] < 0 || targets[i] >= v))
      throw Error("sequence_logprobs: target " + std::to_string(targets[i]) + " at " +
                  std::to_string(i) + ": expected 0.." + std::to_string(v - 1));
  Var out = t.node(Shape({batch, 1}), {logits});
  const float* x = t.data(logits);
  double* lse = t.save<double>(n);  // logsumexp per row (N)
  int32_t* tg = t.save<int32_t>(n);
  std::copy(targets, targets + n, tg);
  t.pool().parallel_for(batch, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double sum = 0;
      for (int64_t i = b * seq; i < (b + 1) * seq; ++i) {
        if (tg[i] == ignore_index) continue;
        const float* row = x + i * v;
        const double mx = *std::max_element(row, row + v);
        double z = 0;
        for (int64_t k = 0; k < v; ++k) z += std::exp(row[k] - mx);
        lse[i] = mx + std::log(z);
        sum += row[tg[i]] - (mx + std::log(z));
      }
      t.data(out)[b] = static_cast<float>(sum);
    }
  });
  t.on_backward(out, [&t, logits, out, lse, tg, seq, n, v, ignore_index] {
    const float *x = t.data(logits), *dout = t.grad(out);
    float* dx = t.grad(logits);
    t.pool().parallel_for(n, 8, [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) {
        if (tg[i] == ignore_index) continue;
        const double g = dout[i / seq];
        for (int64_t k = 0; k < v; ++k)
          dx[i * v + k] -= static_cast<float>(g * std::exp(x[i * v + k] - lse[i]));
        dx[i * v + tg[i]] += static_cast<float>(g);
      }
    });
  });
  return out;
}

// ---- dpo_loss: four (B, 1) -> (1) ----
Var dpo_loss(Tape& t, Var pc, Var pr, Var rc, Var rr, const DpoOptions& o) {
  const int64_t b = pair_count(t, {pc, pr, rc, rr}, "dpo_loss");
  if (!(o.beta > 0)) throw Error("dpo_loss: beta " + std::to_string(o.beta) + ": expected > 0");
  if (!(o.label_smoothing >= 0 && o.label_smoothing < 0.5f))
    throw Error("dpo_loss: label smoothing " + std::to_string(o.label_smoothing) +
                ": expected in [0, 0.5)");
  Var out = t.node(Shape({1}), {pc, pr, rc, rr});
  double* coef = t.save<double>(b);  // dL/dΔ_i / B
  const double beta = o.beta, ls = o.label_smoothing;
  double total = 0;
  for (int64_t i = 0; i < b; ++i) {
    const double d = (static_cast<double>(t.data(pc)[i]) - t.data(pr)[i]) -
                     (static_cast<double>(t.data(rc)[i]) - t.data(rr)[i]);
    if (o.ipo) {
      const double r = d - 1 / (2 * beta);
      total += r * r;
      coef[i] = 2 * r / b;
    } else {
      total += -(1 - ls) * log_sigmoid(beta * d) - ls * log_sigmoid(-beta * d);
      coef[i] = (-(1 - ls) * beta * sigmoid(-beta * d) + ls * beta * sigmoid(beta * d)) / b;
    }
  }
  t.data(out)[0] = static_cast<float>(total / b);
  t.on_backward(out, [&t, out, pc, pr, rc, rr, coef, b] {
    const double g = t.grad(out)[0];
    std::vector<double> c(coef, coef + b);
    for (double& x : c) x *= g;
    add_grad(t, pc, c.data(), b, 1);
    add_grad(t, pr, c.data(), b, -1);
    add_grad(t, rc, c.data(), b, -1);
    add_grad(t, rr, c.data(), b, 1);
  });
  return out;
}

// ---- bradley_terry_loss: two (B, 1) -> (1) ----
Var bradley_terry_loss(Tape& t, Var rc, Var rr) {
  const int64_t b = pair_count(t, {rc, rr}, "bradley_terry_loss");
  Var out = t.node(Shape({1}), {rc, rr});
  double* coef = t.save<double>(b);  // dL/d(r_c - r_r)_i / B
  double total = 0;
  for (int64_t i = 0; i < b; ++i) {
    const double m = static_cast<double>(t.data(rc)[i]) - t.data(rr)[i];
    total -= log_sigmoid(m);
    coef[i] = -sigmoid(-m) / b;
  }
  t.data(out)[0] = static_cast<float>(total / b);
  t.on_backward(out, [&t, out, rc, rr, coef, b] {
    const double g = t.grad(out)[0];
    std::vector<double> c(coef, coef + b);
    for (double& x : c) x *= g;
    add_grad(t, rc, c.data(), b, 1);
    add_grad(t, rr, c.data(), b, -1);
  });
  return out;
}

}  // namespace loom::nn
