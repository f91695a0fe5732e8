// `loom index build|search|info`: vector indexes over float32 .npy files. Parsing and printing
// only; the indexes live in src/index.
#include <chrono>
#include <cstdio>
#include <string>

#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/threads.h"
#include "index/factory.h"
#include "index/index_file.h"
#include "index/npy.h"

namespace {

using loom::cli::Args;
using loom::cli::UsageError;
namespace ix = loom::index;

// Ids from a .npy integer vector, or a text file with one unsigned integer per line.
std::vector<uint64_t> read_ids(const std::string& path) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0)
    return ix::read_npy_ids(path);
  std::string text = loom::read_file(path);
  std::vector<uint64_t> ids;
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string s = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.pop_back();
    if (s.empty()) continue;
    char* e = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s.c_str(), &e, 10);
    if (*e != '\0' || s[0] == '-' || errno != 0) {
      throw loom::Error(path + ":" + std::to_string(line) +
                        ": expected an unsigned integer id, got '" + s + "'");
    }
    ids.push_back(v);
  }
  return ids;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_build(const Args& a) {
  ix::NpyMatrix m = ix::read_npy_f32(a.need("vectors"));
  std::vector<uint64_t> ids;
  if (a.has("ids")) {
    ids = read_ids(a.str("ids"));
    if (static_cast<int64_t>(ids.size()) != m.rows) {
      throw loom::Error(a.str("ids") + ": " + std::to_string(ids.size()) + " ids for " +
                        std::to_string(m.rows) + " vectors in " + a.str("vectors"));
    }
  } else {
    ids.resize(static_cast<size_t>(m.rows));
    for (int64_t i = 0; i < m.rows; ++i) ids[i] = static_cast<uint64_t>(i);
  }
  ix::IndexOptions o;
  o.hnsw.M = a.integer("M", 16);
  o.hnsw.ef_construction = a.integer("ef-construction", 200);
  o.hnsw.ef_search = a.integer("ef-search", 64);
  o.vamana.R = a.integer("R", 32);
  o.vamana.L = a.integer("L", 64);
  o.vamana.alpha = static_cast<float>(a.number("alpha", 1.2));
  o.vamana.L_search = a.integer("ef-search", 64);
  o.hnsw.seed = o.vamana.seed = static_cast<uint64_t>(a.integer("seed", 100));
  o.vamana.pq_subspaces = a.integer("pq", 0);
  const std::string type = a.str("type", "hnsw");
  if (o.vamana.pq_subspaces != 0 && type != "vamana")
    throw UsageError{"flag --pq: product quantisation is available for --type vamana only"};
  auto index = ix::make_index(type, m.cols, ix::parse_metric(a.str("metric", "cos")), o);
  loom::ThreadPool pool(a.threads());
  auto t0 = std::chrono::steady_clock::now();
  index->add(ids, m.data.data(), &pool);
  double build_s = seconds_since(t0);
  std::string out = a.need("out");
  ix::save_index(*index, out);
  if (a.json()) {
    std::printf(
        "{\"type\": \"%s\", \"metric\": \"%s\", \"vectors\": %lld, \"dim\": %lld, \"build_s\": "
        "%.3f, "
        "\"bytes_per_vector\": %.1f, \"out\": %s}\n",
        std::string(index->kind()).c_str(), ix::metric_name(index->metric()),
        (long long)index->size(), (long long)index->dim(), build_s,
        static_cast<double>(index->memory_bytes()) / std::max<int64_t>(1, index->size()),
        loom::cli::json_quote(out).c_str());
  } else {
    std::printf("built %s index (%s) of %lld vectors, dim %lld, in %.2f s (%d threads); wrote %s\n",
                std::string(index->kind()).c_str(), ix::metric_name(index->metric()),
                (long long)index->size(), (long long)index->dim(), build_s, pool.size(),
                out.c_str());
  }
  return 0;
}

int run_search(const Args& a) {
  std::string path = a.need("index");
  auto index = ix::load_index(path);
  std::string qpath = a.need("queries");
  ix::NpyMatrix q = ix::read_npy_f32(qpath);
  index->check_dim(q.cols, qpath);
  long long k = a.integer("k", 10);
  if (k <= 0 || k > 100000) throw UsageError{"flag --k: expected 1..100000"};
  loom::ThreadPool pool(a.threads());
  ix::SearchParams sp;
  sp.ef = a.integer("ef", 0);
  sp.pool = &pool;
  auto t0 = std::chrono::steady_clock::now();
  auto r = index->search(q.data.data(), q.rows, k, sp);
  double s = seconds_since(t0);
  if (a.json()) std::printf("[");
  for (int64_t i = 0; i < q.rows; ++i) {
    if (a.json()) {
      std::printf("%s{\"query\": %lld, \"ids\": [", i ? ", " : "", (long long)i);
      bool first = true;
      for (int64_t j = 0; j < k; ++j) {
        if (r.ids[i * k + j] == ix::kNoId) break;
        std::printf("%s%llu", first ? "" : ", ", (unsigned long long)r.ids[i * k + j]);
        first = false;
      }
      std::printf("], \"distances\": [");
      first = true;
      for (int64_t j = 0; j < k; ++j) {
        if (r.ids[i * k + j] == ix::kNoId) break;
        std::printf("%s%.9g", first ? "" : ", ", r.distances[i * k + j]);
        first = false;
      }
      std::printf("]}");
    } else {
      for (int64_t j = 0; j < k; ++j) {
        if (r.ids[i * k + j] == ix::kNoId) break;
        std::printf("%lld\t%lld\t%llu\t%.9g\n", (long long)i, (long long)j + 1,
                    (unsigned long long)r.ids[i * k + j], r.distances[i * k + j]);
      }
    }
  }
  if (a.json()) std::printf("]\n");
  std::fprintf(stderr, "searched %lld queries in %.3f s (%.0f queries/s)\n", (long long)q.rows, s,
               q.rows / std::max(s, 1e-9));
  return 0;
}

int run_info(const Args& a) {
  std::string path = a.need("index");
  auto index = ix::load_index(path);
  std::string params;
  if (auto* h = dynamic_cast<const ix::HnswIndex*>(index.get())) {
    params = "M=" + std::to_string(h->params().M) +
             " ef_construction=" + std::to_string(h->params().ef_construction) +
             " ef_search=" + std::to_string(h->params().ef_search) +
             " max_level=" + std::to_string(h->max_level());
  } else if (auto* v = dynamic_cast<const ix::VamanaIndex*>(index.get())) {
    char alpha[32];
    std::snprintf(alpha, sizeof alpha, "%.3g", v->params().alpha);
    params = "R=" + std::to_string(v->params().R) + " L=" + std::to_string(v->params().L) +
             " alpha=" + alpha + " L_search=" + std::to_string(v->params().L_search);
    if (v->pq() != nullptr) {
      params += " pq=" + std::to_string(v->pq()->subspaces()) + " (" +
                std::to_string(v->pq()->subspaces()) + "-byte codes, " +
                std::to_string(v->pq()->sub_dim()) + " dims per subspace)";
    }
  }
  double per = static_cast<double>(index->memory_bytes()) /
               std::max<int64_t>(1, index->size() + index->n_deleted());
  if (a.json()) {
    std::printf(
        "{\"type\": \"%s\", \"metric\": \"%s\", \"dim\": %lld, \"vectors\": %lld, "
        "\"deleted\": %lld, \"params\": %s, \"file_version\": %u, \"bytes_per_vector\": %.1f}\n",
        std::string(index->kind()).c_str(), ix::metric_name(index->metric()),
        (long long)index->dim(), (long long)index->size(), (long long)index->n_deleted(),
        loom::cli::json_quote(params).c_str(), ix::kIndexFileVersion, per);
  } else {
    std::printf(
        "type\t%s\nmetric\t%s\ndim\t%lld\nvectors\t%lld\ndeleted\t%lld\nparams\t%s\n"
        "bytes_per_vector\t%.1f\n",
        std::string(index->kind()).c_str(), ix::metric_name(index->metric()),
        (long long)index->dim(), (long long)index->size(), (long long)index->n_deleted(),
        params.c_str(), per);
  }
  return 0;
}

}  // namespace

LOOM_COMMAND("index build", "build a vector index (flat, hnsw, vamana) from a float32 .npy file",
             {{"vectors", "FILE.npy", "float32 matrix (n, dim)", ""},
              {"ids", "FILE", "caller ids: .npy int64/uint64 or one integer per line",
               "row numbers"},
              {"type", "KIND", "flat, hnsw or vamana", "hnsw"},
              {"metric", "M", "ip, l2 or cos", "cos"},
              {"out", "INDEX", "index file to write (atomically)", ""},
              {"M", "N", "hnsw: links per node", "16"},
              {"ef-construction", "N", "hnsw: build beam width", "200"},
              {"R", "N", "vamana: max degree", "32"},
              {"L", "N", "vamana: build list size", "64"},
              {"alpha", "X", "vamana: prune slack", "1.2"},
              {"ef-search", "N", "default search beam (hnsw efSearch / vamana L)", "64"},
              {"pq", "M",
               "vamana: also keep M-byte product-quantised codes, search over them and re-rank "
               "with full vectors (M must divide dim; 0 = off)",
               "0"},
              {"seed", "N", "random seed", "100"}},
             run_build);

LOOM_COMMAND(
    "index search", "k nearest neighbours of each query row; prints query, rank, id, distance",
    {{"index", "INDEX", "index file", ""},
     {"queries", "FILE.npy", "float32 matrix (n, dim)", ""},
     {"k", "N", "neighbours per query", "10"},
     {"ef", "N", "search beam width (0 = the index's default)", "0"}},
    run_search,
    "Distances: squared L2 for l2, minus the inner product for ip and cos (smaller is closer).");

LOOM_COMMAND("index info", "describe an index file", {{"index", "INDEX", "index file", ""}},
             run_info);
