#include "core/gemm.h"

#include <cblas.h>
#include <dlfcn.h>
#include <omp.h>

#include <cstdlib>

#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <vector>

namespace loom {

namespace {

// Splits the output over the pool along its larger side; each piece is one backend call.
template <typename F>
void split_output(ThreadPool& pool, int64_t m, int64_t n, F&& piece) {
  const int64_t kMinCols = 64, kMinRows = 16;
  if (pool.size() == 1 || (m * n < 64 * 64)) {
    piece(0, m, 0, n);
  } else if (n >= m || m < kMinRows * 2) {
    pool.parallel_for(n, kMinCols, [&](int64_t b, int64_t e) { piece(0, m, b, e); });
  } else {
    pool.parallel_for(m, kMinRows, [&](int64_t b, int64_t e) { piece(b, e, 0, n); });
  }
}

// OpenBLAS is loaded at first use rather than linked: Debian's DYNAMIC_ARCH build picks its kernel
// from the CPU model when it loads, and on virtual CPUs that report a generic model it falls back
// to SSE3 "Prescott" kernels (31 GFLOP/s here instead of 141). When the user has not chosen with
// OPENBLAS_CORETYPE, we choose from the CPU's features before the library reads it.
struct OpenBlas {
  decltype(&cblas_sgemm) sgemm = nullptr;
  decltype(&cblas_sgemv) sgemv = nullptr;
  std::string core;
};

const OpenBlas& openblas() {
  static const OpenBlas lib = [] {
    if (std::getenv("OPENBLAS_CORETYPE") == nullptr) {
      __builtin_cpu_init();
      if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
      } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        setenv("OPENBLAS_CORETYPE", "Haswell", 0);
      }
    }
    void* h = dlopen(LOOM_OPENBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) throw Error(std::string("cannot load OpenBLAS: ") + dlerror());
    OpenBlas b;
    b.sgemm = reinterpret_cast<decltype(&cblas_sgemm)>(dlsym(h, "cblas_sgemm"));
    b.sgemv = reinterpret_cast<decltype(&cblas_sgemv)>(dlsym(h, "cblas_sgemv"));
    auto set_threads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
    auto corename = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_corename"));
    if (b.sgemm == nullptr || b.sgemv == nullptr || set_threads == nullptr) {
      throw Error(std::string(LOOM_OPENBLAS_PATH) + ": not an OpenBLAS library (no cblas_sgemm)");
    }
    // Threads come from our pool; OpenBLAS's own pool would oversubscribe the cores.
    set_threads(1);
    b.core = corename ? corename() : "unknown";
    return b;
  }();
  return lib;
}

struct DnnlBf16 {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mu;
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool, float, float>,
           std::pair<dnnl::matmul::primitive_desc, dnnl::matmul>>
      cache;

  std::pair<dnnl::matmul::primitive_desc, dnnl::matmul> get(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc, bool ta,
                   bool tb, float alpha, float beta) {
    auto key = std::make_tuple(m, n, k, lda, ldb, ldc, ta, tb, alpha, beta);
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    using dt = dnnl::memory::data_type;
    dnnl::memory::desc a_md({m, k}, dt::bf16, ta ? dnnl::memory::dims{1, lda} : dnnl::memory::dims{lda, 1});
    dnnl::memory::desc b_md({k, n}, dt::bf16, tb ? dnnl::memory::dims{1, ldb} : dnnl::memory::dims{ldb, 1});
    dnnl::memory::desc c_md({m, n}, dt::f32, dnnl::memory::dims{ldc, 1});
    dnnl::primitive_attr attr;
    // The caller provides scratch memory per call: a shared primitive runs on several pool
    // threads at once, and oneDNN's library-owned scratchpad is per primitive.
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    if (beta != 0.0f) {
      dnnl::post_ops po;
      po.append_sum(beta);
      attr.set_post_ops(po);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, engine);
    dnnl::matmul prim(pd);
    if (cache.size() > 256) cache.clear();
    cache.emplace(key, std::make_pair(pd, prim));
    return {pd, prim};
  }
};

DnnlBf16& dnnl_bf16() {
  static DnnlBf16 d;
  return d;
}

void bf16_gemm_piece(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                     const uint16_t* a, int64_t lda, const uint16_t* b, int64_t ldb, float beta,
                     float* c, int64_t ldc) {
  omp_set_num_threads(1);
  auto& d = dnnl_bf16();
  auto [pd, prim] = d.get(m, n, k, lda, ldb, ldc, ta, tb, alpha, beta);
  dnnl::memory am(pd.src_desc(), d.engine, const_cast<uint16_t*>(a));
  dnnl::memory bm(pd.weights_desc(), d.engine, const_cast<uint16_t*>(b));
  dnnl::memory cm(pd.dst_desc(), d.engine, c);
  thread_local std::vector<uint8_t> scratch;
  auto sd = pd.scratchpad_desc();
  if (scratch.size() < sd.get_size()) scratch.resize(sd.get_size());
  dnnl::memory sm(sd, d.engine, scratch.data());
  dnnl::stream s(d.engine);
  prim.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm},
                   {DNNL_ARG_SCRATCHPAD, sm}});
  s.wait();
}

}  // namespace

void sgemm(ThreadPool& pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
  if (m == 0 || n == 0) return;
  auto sgemm_fn = openblas().sgemm;
  if (m == 1) {
    // One row (a decode step): matrix-vector, memory-bound, split over the output columns.
    auto sgemv_fn = openblas().sgemv;
    const float* x = a;  // op(a) is a row of k values, stride lda when transposed
    int64_t incx = ta ? lda : 1;
    pool.parallel_for(n, 256, [&](int64_t n0, int64_t n1) {
      if (tb) {  // c[j] = sum_p b[j, p] x[p]: b rows n0..n1 are a (n1-n0, k) matrix
        sgemv_fn(CblasRowMajor, CblasNoTrans, static_cast<blasint>(n1 - n0), static_cast<blasint>(k),
                 alpha, b + n0 * ldb, static_cast<blasint>(ldb), x, static_cast<blasint>(incx), beta,
                 c + n0, 1);
      } else {  // c[j] = sum_p b[p, j] x[p]: columns n0..n1 of the (k, n) matrix
        sgemv_fn(CblasRowMajor, CblasTrans, static_cast<blasint>(k), static_cast<blasint>(n1 - n0),
                 alpha, b + n0, static_cast<blasint>(ldb), x, static_cast<blasint>(incx), beta,
                 c + n0, 1);
      }
    });
    return;
  }
  split_output(pool, m, n, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    const float* ap = ta ? a + m0 : a + m0 * lda;
    const float* bp = tb ? b + n0 * ldb : b + n0;
    sgemm_fn(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                static_cast<blasint>(m1 - m0), static_cast<blasint>(n1 - n0),
                static_cast<blasint>(k), alpha, ap, static_cast<blasint>(lda), bp,
                static_cast<blasint>(ldb), beta, c + m0 * ldc + n0, static_cast<blasint>(ldc));
  });
}

void matmul(ThreadPool& pool, const TensorView& a, bool ta, const TensorView& b, bool tb,
            const TensorView& c, float alpha, float beta) {
  LOOM_ASSERT(a.shape().rank() == 2 && b.shape().rank() == 2 && c.shape().rank() == 2,
              "matmul takes matrices");
  int64_t m = ta ? a.shape()[1] : a.shape()[0];
  int64_t k = ta ? a.shape()[0] : a.shape()[1];
  int64_t kb = tb ? b.shape()[1] : b.shape()[0];
  int64_t n = tb ? b.shape()[0] : b.shape()[1];
  LOOM_ASSERT(k == kb, "inner dimensions differ");
  LOOM_ASSERT(c.shape()[0] == m && c.shape()[1] == n, "output shape differs");
  int64_t lda = a.shape()[1], ldb = b.shape()[1], ldc = n;
  if (m == 0 || n == 0) return;

  if (a.dtype() == DType::F32 && b.dtype() == DType::F32 && c.dtype() == DType::F32) {
    sgemm(pool, ta, tb, m, n, k, alpha, a.as<float>(), lda, b.as<float>(), ldb, beta,
          c.as<float>(), ldc);
  } else if (a.dtype() == DType::BF16 && b.dtype() == DType::BF16 && c.dtype() == DType::F32) {
    auto ap = a.as<uint16_t>();
    auto bp = b.as<uint16_t>();
    float* cp = c.as<float>();
    split_output(pool, m, n, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
      bf16_gemm_piece(ta, tb, m1 - m0, n1 - n0, k, alpha, ta ? ap + m0 : ap + m0 * lda, lda,
                      tb ? bp + n0 * ldb : bp + n0, ldb, beta, cp + m0 * ldc + n0, ldc);
    });
  } else if (a.dtype() == DType::I8 && b.dtype() == DType::I8 && c.dtype() == DType::I32) {
    LOOM_ASSERT(alpha == 1.0f && (beta == 0.0f || beta == 1.0f), "i8 matmul takes alpha 1");
    auto ap = a.as<int8_t>();
    auto bp = b.as<int8_t>();
    int32_t* cp = c.as<int32_t>();
    split_output(pool, m, n, [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
      omp_set_num_threads(1);
      int32_t co = 0;
      dnnl_gemm_s8s8s32(ta ? 'T' : 'N', tb ? 'T' : 'N', 'F', m1 - m0, n1 - n0, k, 1.0f,
                        ta ? ap + m0 : ap + m0 * lda, lda, 0, tb ? bp + n0 * ldb : bp + n0, ldb, 0,
                        beta, cp + m0 * ldc + n0, ldc, &co);
    });
  } else {
    LOOM_ASSERT(false, std::string("no GEMM for ") + dtype_name(a.dtype()) + " x " +
                           dtype_name(b.dtype()) + " -> " + dtype_name(c.dtype()));
  }
}

std::string gemm_backends() {
  return "f32: OpenBLAS (" + openblas().core + " kernels); bf16, i8: oneDNN";
}

}  // namespace loom
