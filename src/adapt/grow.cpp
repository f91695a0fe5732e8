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
  if (name == "mean-cov-full") return InitMethod::MeanCovFull;
  if (name == "subtoken-mean") return InitMethod::SubtokenMean;
  throw Error("unknown init method '" + name +
              "': expected normal, mean, mean-cov, mean-cov-full or subtoken-mean");
}

const char* init_method_name(InitMethod m) {
  switch (m) {
    case InitMethod::Normal: return "normal";
    case InitMethod::Mean: return "mean";
    case InitMethod::MeanCov: return "mean-cov";
    case InitMethod::MeanCovFull: return "mean-cov-full";
    case InitMethod::SubtokenMean: return "subtoken-mean";
  }
  return "?";
}

bool init_method_is_random(InitMethod m) {
  return m == InitMethod::Normal || m == InitMethod::MeanCov || m == InitMethod::MeanCovFull;
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

// The biased row covariance (d, d) of x (v, d) about mu: centredᵀ·centred / v, lower triangle
// filled (Hugging Face divides by the row count too).
std::vector<double> row_covariance(const float* x, int64_t v, int64_t d,
                                   const std::vector<double>& mu) {
  const auto D = static_cast<size_t>(d);
  std::vector<double> cov(D * D, 0.0), c(D);
  for (int64_t r = 0; r < v; ++r) {
    for (size_t j = 0; j < D; ++j) c[j] = x[static_cast<size_t>(r) * D + j] - mu[j];
    for (size_t i = 0; i < D; ++i)
      for (size_t j = 0; j <= i; ++j) cov[i * D + j] += c[i] * c[j];
  }
  for (auto& e : cov) e /= static_cast<double>(v);
  return cov;
}

// Lower Cholesky factor of scale * (cov + jitter I), or empty when a pivot is not positive (the
// matrix is not positive definite: torch's constraints.positive_definite.check fails the same).
std::vector<double> cholesky(const std::vector<double>& cov, size_t d, double scale,
                             double jitter) {
  std::vector<double> l(d * d, 0.0);
  for (size_t i = 0; i < d; ++i) {
    for (size_t j = 0; j <= i; ++j) {
      double s = scale * (cov[i * d + j] + (i == j ? jitter : 0.0));
      for (size_t p = 0; p < j; ++p) s -= l[i * d + p] * l[j * d + p];
      if (i != j) {
        l[i * d + j] = s / l[j * d + j];
      } else if (s > 0 && std::isfinite(s)) {
        l[i * d + i] = std::sqrt(s);
      } else {
        return {};
      }
    }
  }
  return l;
}

// The factor a mean-cov method draws with: MeanCov is Hugging Face's N(mu, 1e-9 cov) with no
// jitter (empty when not positive definite: the rows then get the mean); MeanCovFull is
// N(mu, cov_scale * cov) with a jitter of 1e-6 of the mean variance, so it always factors.
std::vector<double> draw_factor(const float* x, int64_t v, int64_t d,
                                const std::vector<double>& mu, const GrowOptions& opts) {
  const std::vector<double> cov = row_covariance(x, v, d, mu);
  const auto D = static_cast<size_t>(d);
  if (opts.method == InitMethod::MeanCov) return cholesky(cov, D, kMeanResizingScale, 0.0);
  double trace = 0;
  for (size_t i = 0; i < D; ++i) trace += cov[i * D + i];
  const double jitter = 1e-6 * (trace / static_cast<double>(d) + 1e-12);
  std::vector<double> l = cholesky(cov, D, opts.cov_scale, jitter);
  LOOM_ASSERT(!l.empty(), "a jittered covariance factors");
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

// Refuses what grow_rows cannot do, by name.
void check_growth(const TensorView& old, const GrowOptions& opts) {
  if (old.dtype() != DType::F32 || old.shape().rank() != 2) {
    throw Error(std::string("embedding growth needs a (rows, dim) f32 matrix, got ") +
                dtype_name(old.dtype()) + " " + old.shape().str());
  }
  if (old.shape()[0] == 0 && opts.method != InitMethod::Normal) {
    throw Error("embedding growth: cannot initialise from an empty matrix; use --init normal");
  }
  if (opts.method == InitMethod::MeanCovFull &&
      !(opts.cov_scale > 0 && std::isfinite(opts.cov_scale))) {
    throw Error("embedding growth: the covariance scale must be a positive number, got " +
                std::to_string(opts.cov_scale));
  }
}

}  // namespace

Tensor grow_rows(const TensorView& old, const std::vector<std::vector<int32_t>>& subtokens,
                 const GrowOptions& opts) {
  check_growth(old, opts);
  const int64_t v = old.shape()[0], d = old.shape()[1];
  const int64_t n = static_cast<int64_t>(subtokens.size());
  Tensor out = Tensor::empty({v + n, d});
  std::memcpy(out.data(), old.data(), static_cast<size_t>(v * d) * sizeof(float));
  const float* x = old.as<float>();
  float* y = out.f32() + v * d;
  Rng rng(opts.seed);

  std::vector<double> mu;
  if (opts.method != InitMethod::Normal) mu = row_mean(x, v, d);
  std::vector<double> chol;
  if (opts.method == InitMethod::MeanCov || opts.method == InitMethod::MeanCovFull)
    chol = draw_factor(x, v, d, mu, opts);

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
      case InitMethod::MeanCovFull:
        if (chol.empty()) {
          copy_mean(mu, row);
        } else {
          draw_mean_cov(mu, chol, rng, z, row);
        }
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
