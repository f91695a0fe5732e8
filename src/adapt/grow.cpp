#include "adapt/grow.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"
#include "core/sha256.h"

namespace loom::adapt {

InitMethod init_method_from_name(const std::string& name) {
  if (name == "normal") return InitMethod::Normal;
  if (name == "mean") return InitMethod::Mean;
  if (name == "mean-cov") return InitMethod::MeanCov;
  if (name == "subtoken-mean") return InitMethod::SubtokenMean;
  throw Error("unknown init method '" + name +
              "': expected normal, mean, mean-cov or subtoken-mean");
}

const char* init_method_name(InitMethod m) {
  switch (m) {
    case InitMethod::Normal: return "normal";
    case InitMethod::Mean: return "mean";
    case InitMethod::MeanCov: return "mean-cov";
    case InitMethod::SubtokenMean: return "subtoken-mean";
  }
  return "?";
}

namespace {

// mean (d) of the rows, accumulated in double.
std::vector<double> row_mean(const float* x, int64_t v, int64_t d) {
  std::vector<double> mu(static_cast<size_t>(d), 0.0);
  for (int64_t r = 0; r < v; ++r)
    for (int64_t j = 0; j < d; ++j) mu[static_cast<size_t>(j)] += x[r * d + j];
  for (auto& m : mu) m /= static_cast<double>(v);
  return mu;
}

// Lower Cholesky factor of the (biased) row covariance; a small diagonal jitter keeps it
// positive definite when rows are fewer than dimensions or collinear.
std::vector<double> covariance_cholesky(const float* x, int64_t v, int64_t d,
                                        const std::vector<double>& mu) {
  std::vector<double> cov(static_cast<size_t>(d * d), 0.0);
  std::vector<double> c(static_cast<size_t>(d));
  for (int64_t r = 0; r < v; ++r) {
    for (int64_t j = 0; j < d; ++j) c[static_cast<size_t>(j)] = x[r * d + j] - mu[static_cast<size_t>(j)];
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j <= i; ++j) cov[static_cast<size_t>(i * d + j)] += c[static_cast<size_t>(i)] * c[static_cast<size_t>(j)];
  }
  double trace = 0;
  for (int64_t i = 0; i < d; ++i) trace += cov[static_cast<size_t>(i * d + i)] / static_cast<double>(v);
  double jitter = 1e-6 * (trace / static_cast<double>(d) + 1e-12);
  std::vector<double> l(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i) {
    for (int64_t j = 0; j <= i; ++j) {
      double s = cov[static_cast<size_t>(i * d + j)] / static_cast<double>(v);
      if (i == j) s += jitter;
      for (int64_t p = 0; p < j; ++p) s -= l[static_cast<size_t>(i * d + p)] * l[static_cast<size_t>(j * d + p)];
      if (i == j) {
        l[static_cast<size_t>(i * d + i)] = std::sqrt(std::max(s, 1e-30));
      } else {
        l[static_cast<size_t>(i * d + j)] = s / l[static_cast<size_t>(j * d + j)];
      }
    }
  }
  return l;
}

// row (d) = mu (d), rounded to float.
void copy_mean(const std::vector<double>& mu, float* row) {
  for (size_t j = 0; j < mu.size(); ++j) row[j] = static_cast<float>(mu[j]);
}

// row (d) = mu + L z, z ~ N(0, I) drawn into z (d): a draw from N(mu, L Lᵀ).
void draw_mean_cov(const std::vector<double>& mu, const std::vector<double>& chol, Rng& rng,
                   std::vector<double>& z, float* row) {
  const int64_t d = static_cast<int64_t>(mu.size());
  for (auto& zi : z) zi = rng.normal();
  for (int64_t i = 0; i < d; ++i) {
    double s = mu[static_cast<size_t>(i)];
    for (int64_t p = 0; p <= i; ++p)
      s += chol[static_cast<size_t>(i * d + p)] * z[static_cast<size_t>(p)];
    row[i] = static_cast<float>(s);
  }
}

// row (d) = the mean of rows ids of x (v, d), or mu when ids is empty; t (the new term's index)
// names it in the error for an id outside x.
void subtoken_mean(const float* x, int64_t v, int64_t d, const std::vector<int32_t>& ids, int64_t t,
                   const std::vector<double>& mu, float* row) {
  if (ids.empty()) return copy_mean(mu, row);
  std::vector<double> acc(static_cast<size_t>(d), 0.0);
  for (int32_t id : ids) {
    if (id < 0 || id >= v) {
      throw Error("embedding growth: sub-token id " + std::to_string(id) + " of new term " +
                  std::to_string(t) + " is outside the original " + std::to_string(v) + " rows");
    }
    for (int64_t j = 0; j < d; ++j) acc[static_cast<size_t>(j)] += x[id * d + j];
  }
  for (int64_t j = 0; j < d; ++j)
    row[j] = static_cast<float>(acc[static_cast<size_t>(j)] / static_cast<double>(ids.size()));
}

}  // namespace

Tensor grow_rows(const TensorView& old, const std::vector<std::vector<int32_t>>& subtokens,
                 const GrowOptions& opts) {
  if (old.dtype() != DType::F32 || old.shape().rank() != 2) {
    throw Error(std::string("embedding growth needs a (rows, dim) f32 matrix, got ") +
                dtype_name(old.dtype()) + " " + old.shape().str());
  }
  const int64_t v = old.shape()[0], d = old.shape()[1];
  const int64_t n = static_cast<int64_t>(subtokens.size());
  if (v == 0 && opts.method != InitMethod::Normal) {
    throw Error("embedding growth: cannot initialise from an empty matrix; use --init normal");
  }
  Tensor out = Tensor::empty({v + n, d});
  std::memcpy(out.data(), old.data(), static_cast<size_t>(v * d) * sizeof(float));
  const float* x = old.as<float>();
  float* y = out.f32() + v * d;
  Rng rng(opts.seed);

  std::vector<double> mu;
  if (opts.method != InitMethod::Normal) mu = row_mean(x, v, d);
  std::vector<double> chol;
  if (opts.method == InitMethod::MeanCov) chol = covariance_cholesky(x, v, d, mu);

  std::vector<double> z(static_cast<size_t>(d));
  for (int64_t t = 0; t < n; ++t) {
    float* row = y + t * d;
    switch (opts.method) {
      case InitMethod::Normal:
        for (int64_t j = 0; j < d; ++j) row[j] = rng.normal() * opts.std;
        break;
      case InitMethod::Mean:
        copy_mean(mu, row);
        break;
      case InitMethod::MeanCov:
        draw_mean_cov(mu, chol, rng, z, row);
        break;
      case InitMethod::SubtokenMean:
        subtoken_mean(x, v, d, subtokens[static_cast<size_t>(t)], t, mu, row);
        break;
    }
  }
  return out;
}

std::string rows_sha256(const TensorView& t, int64_t begin, int64_t end) {
  LOOM_ASSERT(begin >= 0 && begin <= end && end <= t.shape().rows(), "row range outside tensor");
  Sha256 h;
  if (end > begin) {
    h.update(t.row(begin), static_cast<size_t>(end - begin) * t.row_bytes());
  }
  return h.hex();
}

}  // namespace loom::adapt
