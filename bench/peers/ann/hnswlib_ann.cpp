// hnswlib's side of bench/peers/ann, compiled with -march=native against Debian's header-only
// libhnswlib-dev: build with M=16, efConstruction=200 on THREADS threads, then single-thread
// search sweeps. Same CSV as loom_ann (see there).
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;

// CPU seconds of this thread / this process: the machine is shared, so wall time would measure
// the neighbours' load; both drivers report CPU time the same way.
static double cpu_seconds(clockid_t which) {
  timespec ts;
  clock_gettime(which, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Minimal .npy reader for the files loom_ann writes (version 1.0 header, C order).
template <typename T>
static std::vector<T> read_npy(const std::string& path, size_t* rows, size_t* cols) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  char pre[10];
  f.read(pre, 10);
  uint16_t hlen;
  std::memcpy(&hlen, pre + 8, 2);
  std::string h(hlen, ' ');
  f.read(h.data(), hlen);
  size_t p = h.find("'shape': (") + 10;
  *rows = std::stoull(h.substr(p));
  size_t comma = h.find(',', p);
  size_t close = h.find(')', p);
  *cols = (comma < close && comma + 2 < close) ? std::stoull(h.substr(comma + 1)) : 1;
  std::vector<T> v(*rows * *cols);
  f.read(reinterpret_cast<char*>(v.data()), v.size() * sizeof(T));
  if (!f) throw std::runtime_error("short read in " + path);
  return v;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: hnswlib_ann DIR THREADS\n");
    return 2;
  }
  std::string dir = argv[1];
  int threads = std::atoi(argv[2]);
  size_t n, d, nq, qd, g1, g2;
  auto base = read_npy<float>(dir + "/base.npy", &n, &d);
  auto q = read_npy<float>(dir + "/queries.npy", &nq, &qd);
  auto gt = read_npy<uint64_t>(dir + "/gt.npy", &g1, &g2);
  hnswlib::L2Space space(d);
  hnswlib::HierarchicalNSW<float> index(&space, n, 16, 200, 100);
  auto t0 = Clock::now();
  double c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  index.addPoint(base.data(), 0);
  std::atomic<size_t> next{1};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) index.addPoint(base.data() + i * d, i);
    });
  }
  for (auto& t : pool) t.join();
  double build = std::chrono::duration<double>(Clock::now() - t0).count();
  double build_cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
  size_t bytes = n * index.size_data_per_element_;
  for (size_t i = 0; i < n; ++i) bytes += index.element_levels_[i] * index.size_links_per_element_;
  // The label -> id hash map, estimated as Loom estimates its own (buckets + 32 bytes per node).
  bytes += index.label_lookup_.bucket_count() * sizeof(void*) + index.label_lookup_.size() * 32;
  // Per element: the upper-level list pointer, the level, and hnswlib's per-element link lock.
  bytes += n * (sizeof(void*) + sizeof(int) + sizeof(std::mutex));
  double bpv = static_cast<double>(bytes) / n;
  for (int ef : {10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 200, 256, 320}) {
    index.setEf(ef);
    std::vector<uint64_t> got(nq * 10, ~0ull);
    double s = 1e30;
    for (int rep = 0; rep < 3; ++rep) {  // best of 3 passes
      double t1 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
      for (size_t i = 0; i < nq; ++i) {
        auto res = index.searchKnn(q.data() + i * d, 10);
        for (int j = static_cast<int>(res.size()) - 1; j >= 0; --j) {
          got[i * 10 + j] = res.top().second;
          res.pop();
        }
      }
      s = std::min(s, cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - t1);
    }
    size_t hit = 0;
    for (size_t i = 0; i < nq; ++i) {
      std::set<uint64_t> t(gt.begin() + i * 10, gt.begin() + i * 10 + 10);
      for (int j = 0; j < 10; ++j) hit += t.count(got[i * 10 + j]);
    }
    std::printf("hnswlib,ef=%d,%.3f,%.3f,%.4f,%.1f,%.1f\n", ef, build, build_cpu, hit / (10.0 * nq),
                nq / s, bpv);
    std::fflush(stdout);
  }
  return 0;
}
