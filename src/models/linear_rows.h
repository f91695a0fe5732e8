// Batched decode's projections (models/layers.cpp, beside linear_many): B input rows against
// several weights, each weight row read once for all B. Kept out of layers.h, which every user
// of models/ops.h includes, because only the inference backend calls it.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "core/threads.h"

namespace loom::models {

// x (B, in) -> ys[i] (B, out_i) = x · W_iᵀ for n (1..8) weights of the same input width, any
// dtype. Row b of every output is bit for bit what linear_many gives for x[b] alone on a pool of
// the same size: the same kernels over the same grouping of weight rows.
void linear_rows(ThreadPool& pool, const float* x, int64_t B, const TensorView* ws,
                 float* const* ys, int n);

}  // namespace loom::models
