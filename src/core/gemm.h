// Matrix multiply behind one dispatch: callers pass views and dtypes, never a library name.
//   f32  x f32  -> f32   OpenBLAS sgemm
//   bf16 x bf16 -> f32   oneDNN matmul (Debian's OpenBLAS has no bf16 GEMM)
//   i8   x i8   -> i32   oneDNN s8s8s32 GEMM
// Work is split over the caller's ThreadPool (each backend call runs on one thread), so the
// thread count is the pool's and results do not depend on library thread settings.
#pragma once

#include <string>

#include "core/tensor.h"
#include "core/threads.h"

namespace loom {

// c (M,N) = alpha * op(a) · op(b) + beta * c, where op(x) is x or its transpose.
// a is (M,K) or, with trans_a, (K,M); b is (K,N) or, with trans_b, (N,K). All row-major and
// contiguous. For i8 inputs, alpha and beta must be 1/0 or 1/1 and c is i32.
void matmul(ThreadPool& pool, const TensorView& a, bool trans_a, const TensorView& b, bool trans_b,
            const TensorView& c, float alpha = 1.0f, float beta = 0.0f);

// Raw f32 form with leading dimensions, for callers that work on sub-blocks.
void sgemm(ThreadPool& pool, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
           float* c, int64_t ldc);

// Names of the backends in use, for `loom system` and benchmark headers.
std::string gemm_backends();

}  // namespace loom
