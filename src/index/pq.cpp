#include "index/pq.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/rng.h"

namespace loom::index {

namespace {

// One subspace's centroids transposed to (dsub, 256), so the distances from a point to all 256
// centroids are computed 16 lanes at a time along the centroid axis.
std::vector<float> transpose_book(const float* book, int64_t dsub) {
  std::vector<float> t(static_cast<size_t>(dsub * kPqCentroids));
  for (int64_t c = 0; c < kPqCentroids; ++c)
    for (int64_t d = 0; d < dsub; ++d) t[d * kPqCentroids + c] = book[c * dsub + d];
  return t;
}

}  // namespace

int64_t pq_nearest_scalar(const float* x, const float* ct, int64_t dsub) {
  float dist[kPqCentroids] = {};
  for (int64_t d = 0; d < dsub; ++d) {
    const float* row = ct + d * kPqCentroids;
    for (int64_t c = 0; c < kPqCentroids; ++c) {
      float diff = x[d] - row[c];
      dist[c] += diff * diff;
    }
  }
  int64_t best = 0;
  for (int64_t c = 1; c < kPqCentroids; ++c)
    if (dist[c] < dist[best]) best = c;
  return best;
}

#if defined(LOOM_INDEX_AVX512)
// 16 accumulators of 16 centroids each stay in registers across the dsub coordinates; the argmin
// keeps per lane the first block reaching its minimum, then takes the smallest index among the
// lanes holding the overall minimum, so ties resolve to the lowest centroid as in the scalar twin.
int64_t pq_nearest(const float* x, const float* ct, int64_t dsub) {
  __m512 acc[16];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (int64_t d = 0; d < dsub; ++d) {
    const __m512 xv = _mm512_set1_ps(x[d]);
    const float* row = ct + d * kPqCentroids;
    for (int b = 0; b < 16; ++b) {
      __m512 diff = _mm512_sub_ps(xv, _mm512_loadu_ps(row + b * 16));
      acc[b] = _mm512_fmadd_ps(diff, diff, acc[b]);
    }
  }
  __m512 best = acc[0];
  __m512i best_i = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i idx = best_i;
  const __m512i step = _mm512_set1_epi32(16);
  for (int b = 1; b < 16; ++b) {
    idx = _mm512_add_epi32(idx, step);
    __mmask16 lt = _mm512_cmp_ps_mask(acc[b], best, _CMP_LT_OQ);
    best = _mm512_mask_blend_ps(lt, best, acc[b]);
    best_i = _mm512_mask_blend_epi32(lt, best_i, idx);
  }
  const float m = _mm512_reduce_min_ps(best);
  __mmask16 at = _mm512_cmp_ps_mask(best, _mm512_set1_ps(m), _CMP_EQ_OQ);
  return _mm512_mask_reduce_min_epi32(at, best_i);
}
#else
int64_t pq_nearest(const float* x, const float* ct, int64_t dsub) {
  return pq_nearest_scalar(x, ct, dsub);
}
#endif

namespace {

void run_tasks(ThreadPool* pool, int64_t n, const std::function<void(int64_t)>& body) {
  if (pool != nullptr && pool->size() > 1 && n > 1) {
    pool->run(n, body);
  } else {
    for (int64_t i = 0; i < n; ++i) body(i);
  }
}

}  // namespace

ProductQuantizer::ProductQuantizer(int64_t dim, int64_t M) : dim_(dim), M_(M), dsub_(0) {
  if (dim < 1) throw Error("product quantizer: dimension must be positive");
  if (M < 1 || M > dim || dim % M != 0) {
    throw Error("product quantizer: " + std::to_string(M) + " subspaces do not divide dimension " +
                std::to_string(dim) + " (expected 1 <= M <= dim with dim % M == 0)");
  }
  dsub_ = dim / M;
}

void ProductQuantizer::train(const float* x, int64_t n, uint64_t seed, ThreadPool* pool) {
  LOOM_ASSERT(n >= 1);
  book_.assign(static_cast<size_t>(M_ * kPqCentroids * dsub_), 0.0f);
  run_tasks(pool, M_, [&](int64_t j) { train_subspace(x, n, j, seed); });
  make_transposed();
}

void ProductQuantizer::make_transposed() {
  book_t_.resize(book_.size());
  for (int64_t j = 0; j < M_; ++j) {
    std::vector<float> t = transpose_book(centroid(j, 0), dsub_);
    std::copy(t.begin(), t.end(), book_t_.begin() + j * kPqCentroids * dsub_);
  }
}

void ProductQuantizer::train_subspace(const float* x, int64_t n, int64_t j, uint64_t seed) {
  const int64_t ds = dsub_;
  std::vector<float> pts(static_cast<size_t>(n * ds));  // (n, dsub): this subspace's columns
  for (int64_t i = 0; i < n; ++i)
    std::copy(x + i * dim_ + j * ds, x + i * dim_ + (j + 1) * ds, pts.data() + i * ds);
  Rng rng(seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(j) + 1);
  float* book = book_.data() + j * kPqCentroids * ds;

  // k-means++ seeding: each next centroid drawn with probability proportional to the squared
  // distance to the nearest one chosen so far (uniformly once every point is covered).
  std::vector<double> d2(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
  int64_t pick = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
  for (int64_t c = 0; c < kPqCentroids; ++c) {
    std::copy(pts.data() + pick * ds, pts.data() + (pick + 1) * ds, book + c * ds);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      double s = l2sq_f32_scalar(pts.data() + i * ds, book + c * ds, ds);
      d2[i] = std::min(d2[i], s);
      total += d2[i];
    }
    if (total <= 0) {
      pick = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
      continue;
    }
    double r = rng.uniform_double() * total;
    pick = n - 1;
    for (int64_t i = 0; i < n; ++i) {
      r -= d2[i];
      if (r < 0) {
        pick = i;
        break;
      }
    }
  }

  // Lloyd iterations; an emptied cluster restarts at a random point.
  std::vector<int32_t> assign(static_cast<size_t>(n));
  std::vector<double> sum(static_cast<size_t>(kPqCentroids * ds));
  std::vector<int64_t> count(kPqCentroids);
  for (int it = 0; it < kPqIterations; ++it) {
    std::vector<float> ct = transpose_book(book, ds);
    for (int64_t i = 0; i < n; ++i)
      assign[i] = static_cast<int32_t>(pq_nearest(pts.data() + i * ds, ct.data(), ds));
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(count.begin(), count.end(), 0);
    for (int64_t i = 0; i < n; ++i) {
      ++count[assign[i]];
      for (int64_t d = 0; d < ds; ++d) sum[assign[i] * ds + d] += pts[i * ds + d];
    }
    for (int64_t c = 0; c < kPqCentroids; ++c) {
      if (count[c] == 0) {
        int64_t p = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
        std::copy(pts.data() + p * ds, pts.data() + (p + 1) * ds, book + c * ds);
        continue;
      }
      for (int64_t d = 0; d < ds; ++d)
        book[c * ds + d] = static_cast<float>(sum[c * ds + d] / static_cast<double>(count[c]));
    }
  }
}

void ProductQuantizer::encode(const float* x, int64_t n, uint8_t* codes, ThreadPool* pool) const {
  LOOM_ASSERT(trained());
  constexpr int64_t kBlock = 1024;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  run_tasks(pool, blocks, [&](int64_t b) {
    for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) {
      for (int64_t j = 0; j < M_; ++j)
        codes[i * M_ + j] =
            static_cast<uint8_t>(pq_nearest(x + i * dim_ + j * dsub_, transposed(j), dsub_));
    }
  });
}

void ProductQuantizer::decode(const uint8_t* code, float* x) const {
  LOOM_ASSERT(trained());
  for (int64_t j = 0; j < M_; ++j) {
    const float* c = centroid(j, code[j]);
    std::copy(c, c + dsub_, x + j * dsub_);
  }
}

void ProductQuantizer::distance_table(const float* q, Metric m, float* table) const {
  LOOM_ASSERT(trained());
  // Along the centroid axis of the transposed codebooks, so the inner loop vectorises.
  std::fill(table, table + M_ * kPqCentroids, 0.0f);
  for (int64_t j = 0; j < M_; ++j) {
    float* row = table + j * kPqCentroids;
    for (int64_t d = 0; d < dsub_; ++d) {
      const float v = q[j * dsub_ + d];
      const float* ct = transposed(j) + d * kPqCentroids;
      if (m == Metric::kL2) {
        for (int64_t c = 0; c < kPqCentroids; ++c) {
          float diff = v - ct[c];
          row[c] += diff * diff;
        }
      } else {
        for (int64_t c = 0; c < kPqCentroids; ++c) row[c] -= v * ct[c];
      }
    }
  }
}

void ProductQuantizer::restore(std::vector<float> book, const std::string& what) {
  if (book.empty()) {
    book_.clear();
    book_t_.clear();
    return;
  }
  const size_t want = static_cast<size_t>(M_ * kPqCentroids * dsub_);
  if (book.size() != want) {
    throw Error(what + ": PQ codebooks hold " + std::to_string(book.size()) + " floats, expected " +
                std::to_string(want));
  }
  for (size_t i = 0; i < book.size(); ++i) {
    if (!std::isfinite(book[i]))
      throw Error(what + ": PQ codebook value " + std::to_string(i) + " is not finite");
  }
  book_ = std::move(book);
  make_transposed();
}

}  // namespace loom::index
