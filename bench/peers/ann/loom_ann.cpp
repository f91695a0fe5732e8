// Loom's side of bench/peers/ann: generates the seeded clustered data set with its exact top-10,
// then builds Loom HNSW / Vamana and sweeps the search beam, printing one CSV line per setting:
//   system,setting,build_wall_s,build_cpu_s,recall_at_10,qps_1thread,bytes_per_vector
// (queries/s from thread CPU time, best of 3 passes over the queries)
//
//   loom_ann gen DIR N DIM NQ           base.npy, queries.npy, gt.npy (exact top-10 by FlatIndex)
//   loom_ann gt DIR                     gt.npy for a base.npy / queries.npy already there (real
//                                       embeddings: bench/peers/ann/real.sh)
//   loom_ann run DIR hnsw|vamana THREADS
//
// LOOM_ANN_PQ=M (vamana only): also keep M-byte PQ codes, search over them and re-rank with full
// vectors; the rows are then named loom-vamana-pq, and stderr gets the compressed part's bytes
// per vector (codes plus the shared codebooks).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <ctime>
#include <set>
#include <stdexcept>
#include <string>

#include "core/threads.h"
#include "index/factory.h"
#include "index/index_file.h"
#include "index/npy.h"
#include "index/synthetic.h"

namespace ix = loom::index;
using Clock = std::chrono::steady_clock;

// CPU seconds of this thread / this process: the machine is shared, so wall time would measure
// the neighbours' load; both drivers report CPU time the same way.
static double cpu_seconds(clockid_t which) {
  timespec ts;
  clock_gettime(which, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

static double secs(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Exact top-10 (L2) of every query by the flat oracle -> DIR/gt.npy.
static void write_gt(const std::string& dir, const float* base, int64_t n, int64_t dim,
                     const float* queries, int64_t nq) {
  ix::FlatIndex flat(dim, ix::Metric::kL2);
  std::vector<uint64_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = i;
  flat.add(ids, base);
  loom::ThreadPool pool(0);
  ix::SearchParams sp;
  sp.pool = &pool;
  auto r = flat.search(queries, nq, 10, sp);
  ix::write_npy_u64(dir + "/gt.npy", r.ids);
}

static int gen(const std::string& dir, int64_t n, int64_t dim, int64_t nq) {
  auto base = ix::clustered_vectors(n, dim, 256, 2026, 1, 1.0f);
  auto queries = ix::clustered_vectors(nq, dim, 256, 2026, 2, 1.0f);
  ix::write_npy_f32(dir + "/base.npy", base.data(), n, dim);
  ix::write_npy_f32(dir + "/queries.npy", queries.data(), nq, dim);
  write_gt(dir, base.data(), n, dim, queries.data(), nq);
  std::fprintf(stderr, "wrote %lld x %lld base, %lld queries and their exact top-10 to %s\n",
               (long long)n, (long long)dim, (long long)nq, dir.c_str());
  return 0;
}

static int gt(const std::string& dir) {
  ix::NpyMatrix base = ix::read_npy_f32(dir + "/base.npy");
  ix::NpyMatrix q = ix::read_npy_f32(dir + "/queries.npy");
  if (q.cols != base.cols) throw std::runtime_error("queries.npy and base.npy differ in dimension");
  write_gt(dir, base.data.data(), base.rows, base.cols, q.data.data(), q.rows);
  std::fprintf(stderr, "wrote the exact top-10 of %lld queries over %lld x %lld to %s/gt.npy\n",
               (long long)q.rows, (long long)base.rows, (long long)base.cols, dir.c_str());
  return 0;
}

static int run(const std::string& dir, const std::string& kind, int threads) {
  ix::NpyMatrix base = ix::read_npy_f32(dir + "/base.npy");
  ix::NpyMatrix q = ix::read_npy_f32(dir + "/queries.npy");
  std::vector<uint64_t> gt = ix::read_npy_ids(dir + "/gt.npy");
  ix::IndexOptions o;
  o.hnsw.M = 16;
  o.hnsw.ef_construction = 200;
  // Vamana knobs may be overridden for experiments: LOOM_ANN_R, LOOM_ANN_L, LOOM_ANN_ALPHA.
  o.vamana.R = std::getenv("LOOM_ANN_R") ? std::atoi(std::getenv("LOOM_ANN_R")) : 32;
  o.vamana.L = std::getenv("LOOM_ANN_L") ? std::atoi(std::getenv("LOOM_ANN_L")) : 64;
  o.vamana.alpha = std::getenv("LOOM_ANN_ALPHA") ? std::atof(std::getenv("LOOM_ANN_ALPHA")) : 1.2f;
  std::string name = kind;
  if (const char* pq = std::getenv("LOOM_ANN_PQ"); pq != nullptr && kind == "vamana") {
    o.vamana.pq_subspaces = std::atoi(pq);
    if (o.vamana.pq_subspaces > 0) name = "vamana-pq";
  }
  auto idx = ix::make_index(kind, base.cols, ix::Metric::kL2, o);
  std::vector<uint64_t> ids(base.rows);
  for (int64_t i = 0; i < base.rows; ++i) ids[i] = i;
  loom::ThreadPool pool(threads);
  auto t0 = Clock::now();
  double c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  // LOOM_ANN_INDEX=FILE: search experiments on one fixed graph — load FILE when it exists (build
  // figures then read 0), else build and save it there.
  const char* saved = std::getenv("LOOM_ANN_INDEX");
  if (saved != nullptr && std::filesystem::exists(saved)) {
    idx = ix::load_index(saved);
  } else {
    idx->add(ids, base.data.data(), &pool);
    if (saved != nullptr) ix::save_index(*idx, saved);
  }
  double build = secs(t0), build_cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
  double bpv = static_cast<double>(idx->memory_bytes()) / base.rows;
  if (auto* v = dynamic_cast<const ix::VamanaIndex*>(idx.get()); v != nullptr && v->pq()) {
    std::fprintf(stderr,
                 "loom-vamana-pq: M=%lld, compressed part %.2f bytes per vector (codes %lld + "
                 "codebooks %lld bytes shared), full vectors %lld bytes per vector\n",
                 (long long)v->pq()->subspaces(),
                 static_cast<double>(v->pq_codes().size() + v->pq()->memory_bytes()) / base.rows,
                 (long long)v->pq()->subspaces(), (long long)v->pq()->memory_bytes(),
                 (long long)base.cols * 4);
  }
  std::vector<int> efs = {10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 200, 256, 320};
  if (const char* e = std::getenv("LOOM_ANN_EFS")) {  // e.g. "48,64": a shorter sweep
    efs.clear();
    for (const char* c = e; *c != 0;) {
      efs.push_back(std::atoi(c));
      while (*c != 0 && *c != ',') ++c;
      if (*c == ',') ++c;
    }
  }
  for (int ef : efs) {
    ix::SearchParams sp;
    sp.ef = ef;
    std::vector<uint64_t> got(q.rows * 10);
    double s = 1e30;
    for (int rep = 0; rep < 3; ++rep) {  // best of 3 passes
      double t1 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
      for (int64_t i = 0; i < q.rows; ++i) {
        auto r = idx->search(q.data.data() + i * q.cols, 1, 10, sp);
        std::copy(r.ids.begin(), r.ids.end(), got.begin() + i * 10);
      }
      s = std::min(s, cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t1);
    }
    int64_t hit = 0;
    for (int64_t i = 0; i < q.rows; ++i) {
      std::set<uint64_t> t(gt.begin() + i * 10, gt.begin() + i * 10 + 10);
      for (int j = 0; j < 10; ++j) hit += t.count(got[i * 10 + j]);
    }
    std::printf("loom-%s,ef=%d,%.3f,%.3f,%.4f,%.1f,%.1f\n", name.c_str(), ef, build, build_cpu,
                hit / (10.0 * q.rows), q.rows / s, bpv);
    std::fflush(stdout);
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "gen" && argc == 6)
      return gen(argv[2], std::atoll(argv[3]), std::atoll(argv[4]), std::atoll(argv[5]));
    if (mode == "gt" && argc == 3) return gt(argv[2]);
    if (mode == "run" && argc == 5) return run(argv[2], argv[3], std::atoi(argv[4]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loom_ann: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: loom_ann gen DIR N DIM NQ | loom_ann gt DIR | loom_ann run DIR hnsw|vamana THREADS\n");
  return 2;
}
