// Growing an embedding matrix (or an untied LM head) for new vocabulary entries: original rows
// are copied byte for byte, new rows are initialised by a chosen method.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace loom::adapt {

enum class InitMethod {
  Normal,        // N(0, std^2) per element
  Mean,          // the mean of all original rows
  // Hugging Face's resize_token_embeddings(mean_resizing=True), after Hewitt 2021: a sample from
  // N(mean, 1e-9 * covariance of the original rows), or the mean when 1e-9 * covariance is not
  // positive definite (its Cholesky factorisation fails).
  MeanCov,
  // A sample from N(mean, cov_scale * covariance) (full covariance at scale 1); a small diagonal
  // jitter keeps the factorisation possible when the covariance is singular.
  MeanCovFull,
  SubtokenMean,  // the mean of the rows of the term's original sub-tokens (falls back to Mean)
};

// "normal", "mean", "mean-cov", "mean-cov-full", "subtoken-mean"; throws loom::Error on anything
// else.
InitMethod init_method_from_name(const std::string& name);
const char* init_method_name(InitMethod m);

struct GrowOptions {
  InitMethod method = InitMethod::SubtokenMean;
  float std = 0.02f;  // for Normal
  uint64_t seed = 0;  // for Normal, MeanCov and MeanCovFull
  double cov_scale = 1.0;  // for MeanCovFull
};

// Hugging Face's covariance scale for mean resizing.
inline constexpr double kMeanResizingScale = 1e-9;

// Whether a method draws from the seed.
bool init_method_is_random(InitMethod m);

// old (V, d) f32 -> (V + subtokens.size(), d) f32. Row V + i is the new row of term i, whose
// original tokenisation is subtokens[i] (ids < V; used by SubtokenMean). Rows [0, V) of the result
// are bit-identical to old's.
Tensor grow_rows(const TensorView& old, const std::vector<std::vector<int32_t>>& subtokens,
                 const GrowOptions& opts);

// SHA-256 of the bytes of rows [begin, end) of a (rows, d) tensor.
std::string rows_sha256(const TensorView& t, int64_t begin, int64_t end);

}  // namespace loom::adapt
