// The document store (src/retrieval/doc_store.h) against SQLite FTS5 on the same documents, in
// one process: ingest rate, search latency p50/p99 (unfiltered and with a metadata filter that
// keeps ~10 %) and nDCG@10 on the data set's qrels. Run by bench/peers/store/run.sh.
//
//   store_bench DATA MODEL TOKENIZER WORKDIR [THREADS] [MAX_QUERIES]
//
// DATA is a BEIR folder (Cranfield) or a term<TAB>definition TSV (FOLDOC: every entry is a
// document, its term the query). Every document gets a seeded synthetic field year in
// 1970..2019; the filter is {"year": {"$gte": 2015}}. FTS5 gets the same texts (BEIR: title + " "
// + text, as the store's BM25 sees them) with the year as an UNINDEXED column, and each query as
// the OR of its distinct terms (Loom's analyzer: lowercased letter/digit runs), ranked by
// bm25() (ORDER BY rank, FTS5's own fast path for it) LIMIT 10. Queries run one at a time (the
// store's search runs its pool of THREADS for query embedding); each is timed in wall clock and
// in process CPU time (all threads), which a shared machine's load inflates far less. A second
// collection (loom-stem) holds the same documents with Porter stemming and k1 1.2, b 0.75, the
// settings of FTS5's porter table; only its BM25 searches are timed.
// Output: one tab-separated line per measurement (system, what, value, unit).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "embed/load.h"
#include "retrieval/analyzer.h"
#include "retrieval/definitions.h"
#include "retrieval/doc_store.h"
#include "retrieval/metrics.h"
#include "retrieval/sqlite_db.h"

namespace {

namespace rt = loom::retrieval;
using Clock = std::chrono::steady_clock;

constexpr size_t kBatch = 256;  // documents per committed transaction, as `loom collection add`
constexpr size_t kTopK = 10;
constexpr int kMinYear = 1970, kYears = 50, kFilterFrom = 2015;
constexpr const char* kFilterJson = "{\"year\": {\"$gte\": 2015}}";

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Wall and CPU seconds since construction.
struct Stopwatch {
  Clock::time_point wall0 = Clock::now();
  double cpu0 = cpu_seconds();
  double wall() const { return seconds_since(wall0); }
  double cpu() const { return cpu_seconds() - cpu0; }
};

// The bytes of every file of a SQLite store (the database, its WAL, the index beside it).
double store_mb(const std::string& dir, const std::string& prefix) {
  double bytes = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir))
    if (f.path().filename().string().rfind(prefix, 0) == 0) bytes += f.file_size();
  return bytes / 1e6;
}

// Removes the stores of an earlier run from dir (only the files this program writes).
void remove_stores(const std::string& dir) {
  std::vector<std::filesystem::path> old;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    const std::string name = f.path().filename().string();
    if (name.rfind("loom.db", 0) == 0 || name.rfind("fts5-", 0) == 0) old.push_back(f.path());
  }
  for (const auto& p : old) std::filesystem::remove(p);
}

void emit(const std::string& sys, const std::string& what, double v, const char* unit) {
  std::printf("%s\t%s\t%.6g\t%s\n", sys.c_str(), what.c_str(), v, unit);
  std::fflush(stdout);
}

struct Corpus {
  std::vector<rt::DocInput> docs;
  std::vector<int> years;
  std::vector<rt::Query> queries;  // those with judgments, at most MAX_QUERIES (seeded pick)
  rt::Qrels qrels;
};

Corpus load_corpus_for(const std::string& path, size_t max_queries) {
  const rt::BeirDataset ds = std::filesystem::is_directory(path)
                                 ? rt::load_beir(path)
                                 : rt::load_definitions_task(path, 1);
  Corpus c;
  std::mt19937 rng(15);
  for (const rt::Document& d : ds.corpus) {
    const int year = kMinYear + static_cast<int>(rng() % kYears);
    const std::string text = d.title.empty() ? d.text : d.title + " " + d.text;
    c.docs.push_back({d.id, text, "{\"year\": " + std::to_string(year) + "}"});
    c.years.push_back(year);
  }
  for (const rt::Query& q : ds.queries)
    if (ds.qrels.count(q.id) != 0) c.queries.push_back(q);
  if (c.queries.size() > max_queries) {
    std::shuffle(c.queries.begin(), c.queries.end(), rng);
    c.queries.resize(max_queries);
  }
  c.qrels = ds.qrels;
  return c;
}

// Latencies of one pass over the queries (after an untimed warm-up pass) and the run it gave.
struct Pass {
  std::vector<double> ms, cpu_ms;
  rt::TrecRun run;
};

template <typename SearchFn>  // SearchFn(query text) -> ranked document ids
Pass time_queries(const std::vector<rt::Query>& queries, SearchFn search) {
  for (const rt::Query& q : queries) search(q.text);
  Pass p;
  for (const rt::Query& q : queries) {
    const Stopwatch sw;
    const std::vector<std::string> ids = search(q.text);
    p.ms.push_back(1e3 * sw.wall());
    p.cpu_ms.push_back(1e3 * sw.cpu());
    std::vector<rt::ScoredDoc>& docs = p.run[q.id];
    for (size_t r = 0; r < ids.size(); ++r)  // rank order as the score: the system's own order
      docs.push_back({ids[r], static_cast<double>(ids.size() - r)});
  }
  return p;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

void report_pass(const std::string& sys, const std::string& what, const Pass& p,
                 const rt::Qrels& qrels) {
  emit(sys, what + " p50", percentile(p.ms, 0.50), "ms");
  emit(sys, what + " p99", percentile(p.ms, 0.99), "ms");
  emit(sys, what + " cpu p50", percentile(p.cpu_ms, 0.50), "ms");
  emit(sys, what + " cpu p99", percentile(p.cpu_ms, 0.99), "ms");
  emit(sys, what + " ndcg@10", rt::metric(rt::evaluate(qrels, p.run, {10}), "ndcg_cut_10"), "");
}

// ---- Loom's document store ----

void emit_rate(const std::string& sys, const std::string& what, size_t n, double wall, double cpu) {
  emit(sys, what, static_cast<double>(n) / wall, "docs/s");
  emit(sys, what + " cpu", static_cast<double>(n) / cpu, "docs/CPU-s");
}

// Ingest in two timed parts: embedding every text (the encoder the collection uses, on the
// pool), then the store's writes with those vectors (SQLite rows in batches of kBatch, one
// transaction each, HNSW inserts, the index file) and its BM25 index, which it builds on the
// first BM25 search. Their sum is the work `loom collection add` does.
// The chunk vectors, and where each document's rows start in them.
struct Embedded {
  std::vector<float> vecs;
  std::vector<size_t> first;  // document i's chunks are rows [first[i], first[i + 1])
};

// Writes c's documents with their vectors, kBatch per transaction.
void upsert_all(const Corpus& c, const Embedded& e, size_t dim, rt::Collection& coll,
                loom::ThreadPool& pool) {
  const size_t n = c.docs.size();
  for (size_t i = 0; i < n; i += kBatch) {
    const size_t end = std::min(n, i + kBatch);
    const std::vector<float> part(e.vecs.begin() + e.first[i] * dim,
                                  e.vecs.begin() + e.first[end] * dim);
    coll.upsert(std::vector<rt::DocInput>(c.docs.begin() + i, c.docs.begin() + end), pool, &part);
  }
}

Embedded loom_ingest(const Corpus& c, const std::string& dir, rt::Collection& coll,
                     const rt::TextEncoder& encoder, loom::ThreadPool& pool) {
  std::vector<std::string> texts;  // the chunks the store will cut, in its order
  Embedded e;
  e.first = {0};
  for (const rt::DocInput& d : c.docs) {
    for (const rt::ChunkSpan& ch : rt::chunk_text(d.text, coll.config().chunking, {}, d.id))
      texts.push_back(d.text.substr(ch.begin, ch.end - ch.begin));
    e.first.push_back(texts.size());
  }
  const Stopwatch embed;
  e.vecs = encoder.encode(texts, rt::TextRole::kDocument, pool);
  const double embed_wall = embed.wall(), embed_cpu = embed.cpu();
  const size_t dim = static_cast<size_t>(encoder.dim()), n = c.docs.size();
  const Stopwatch writes;
  upsert_all(c, e, dim, coll, pool);
  coll.save_index();
  rt::SearchRequest r;
  r.text = "x";
  r.mode = rt::SearchMode::kBm25;
  coll.search(r, pool);
  const double wall = writes.wall(), cpu = writes.cpu();
  emit_rate("loom", "embedding", n, embed_wall, embed_cpu);
  emit_rate("loom", "store writes (SQLite + HNSW + BM25)", n, wall, cpu);
  emit_rate("loom", "ingest total", n, embed_wall + wall, embed_cpu + cpu);
  emit("loom", "store size", store_mb(dir, "loom.db"), "MB");
  return e;
}

void loom_search(const Corpus& c, rt::Collection& coll, loom::ThreadPool& pool,
                 const std::string& sys = "loom", bool bm25_only = false) {
  const std::pair<const char*, rt::SearchMode> modes[] = {{"bm25", rt::SearchMode::kBm25},
                                                          {"vector", rt::SearchMode::kVector},
                                                          {"hybrid", rt::SearchMode::kHybrid}};
  for (const auto& [name, mode] : modes) {
    if (bm25_only && mode != rt::SearchMode::kBm25) continue;
    for (const bool filtered : {false, true}) {
      rt::SearchRequest r;
      r.mode = mode;
      r.k = kTopK;
      if (filtered) r.filter = rt::parse_filter(kFilterJson);
      const Pass p = time_queries(c.queries, [&](const std::string& text) {
        r.text = text;
        std::vector<std::string> ids;
        for (const rt::Hit& h : coll.search(r, pool)) ids.push_back(h.doc_id);
        return ids;
      });
      report_pass(sys, std::string(name) + (filtered ? " filtered" : ""), p, c.qrels);
    }
  }
}

void run_loom(const Corpus& c, const std::string& model, const std::string& tokenizer,
              const std::string& dir, size_t threads) {
  loom::embed::EmbedderOptions o;
  o.tokenizer = tokenizer;
  const loom::embed::LoadedEmbedder loaded = loom::embed::load_embedder(model, o);
  const loom::embed::Embedder& e = *loaded.embedder;
  const std::string db = dir + "/loom.db";
  rt::CollectionConfig cfg;
  cfg.embedder = rt::embedder_identity(model, tokenizer, e);
  cfg.dim = e.dim();
  rt::create_collection(db, "bench", cfg);
  rt::Collection coll(db, "bench");
  const rt::EmbedderEncoder encoder(e);
  coll.attach_encoder(encoder, cfg.embedder);
  loom::ThreadPool pool(threads);
  const Embedded vectors = loom_ingest(c, dir, coll, encoder, pool);
  loom_search(c, coll, pool);
  // BM25 as FTS5's porter table scores: Porter stems, k1 1.2, b 0.75 (FTS5's fixed constants,
  // also Anserini's other published default); the same vectors, only BM25 timed.
  cfg.bm25.k1 = 1.2;
  cfg.bm25.b = 0.75;
  cfg.bm25.analyzer.stem = true;
  rt::create_collection(db, "bench_stem", cfg);
  rt::Collection stem(db, "bench_stem");
  upsert_all(c, vectors, static_cast<size_t>(cfg.dim), stem, pool);
  loom_search(c, stem, pool, "loom-stem", true);
}

// ---- SQLite FTS5 ----

// The query's distinct terms, each quoted (FTS5 string syntax), joined by OR.
std::string fts_query(const std::string& text) {
  std::string q;
  std::set<std::string> seen;
  for (const std::string& t : rt::analyze(text)) {
    if (!seen.insert(t).second) continue;
    if (!q.empty()) q += " OR ";
    q += '"' + t + '"';  // analyze() keeps letters and digits only: no quote to escape
  }
  return q;
}

void fts_ingest(const Corpus& c, rt::Db& db, const std::string& sys) {
  const Stopwatch sw;
  rt::Stmt ins(db, "INSERT INTO f(id, year, body) VALUES (?, ?, ?)");
  for (size_t i = 0; i < c.docs.size(); i += kBatch) {
    rt::Transaction tx(db);
    for (size_t j = i; j < std::min(c.docs.size(), i + kBatch); ++j) {
      ins.bind(1, c.docs[j].id).bind(2, static_cast<int64_t>(c.years[j])).bind(3, c.docs[j].text);
      ins.run();
    }
    tx.commit();
  }
  emit_rate(sys, "ingest (SQLite FTS5)", c.docs.size(), sw.wall(), sw.cpu());
}

void run_fts(const Corpus& c, const std::string& dir, const std::string& tokenizer) {
  const std::string sys = "fts5-" + tokenizer.substr(0, tokenizer.find(' '));
  const std::string path = dir + "/" + sys + ".db";
  rt::Db db(path, true);
  db.exec("PRAGMA journal_mode=WAL; CREATE VIRTUAL TABLE f USING fts5(id UNINDEXED, "
          "year UNINDEXED, body, tokenize='" + tokenizer + "')");
  fts_ingest(c, db, sys);
  emit(sys, "store size", store_mb(dir, sys + ".db"), "MB");
  for (const bool filtered : {false, true}) {
    rt::Stmt s(db, std::string("SELECT id FROM f WHERE f MATCH ?") +
                       (filtered ? " AND year >= " + std::to_string(kFilterFrom) : "") +
                       " ORDER BY rank LIMIT " + std::to_string(kTopK));
    const Pass p = time_queries(c.queries, [&](const std::string& text) {
      std::vector<std::string> ids;
      const std::string q = fts_query(text);
      if (q.empty()) return ids;
      s.bind(1, q);
      while (s.step()) ids.push_back(s.text(0));
      s.reset();
      return ids;
    });
    report_pass(sys, std::string("bm25") + (filtered ? " filtered" : ""), p, c.qrels);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 7) {
    std::fprintf(stderr,
                 "usage: store_bench DATA MODEL TOKENIZER WORKDIR [THREADS] [MAX_QUERIES]\n");
    return 2;
  }
  try {
    const std::string data = argv[1], model = argv[2], tokenizer = argv[3], dir = argv[4];
    const size_t threads = argc > 5 ? std::stoul(argv[5]) : 2;
    const size_t max_queries = argc > 6 ? std::stoul(argv[6]) : 1000;
    std::filesystem::create_directories(dir);
    remove_stores(dir);
    const Corpus c = load_corpus_for(data, max_queries);
    emit("data", "documents", static_cast<double>(c.docs.size()), "");
    emit("data", "queries", static_cast<double>(c.queries.size()), "");
    size_t kept = 0;
    for (int y : c.years) kept += y >= kFilterFrom;
    emit("data", "filter keeps", 100.0 * kept / c.docs.size(), "%");
    run_fts(c, dir, "unicode61");
    run_fts(c, dir, "porter unicode61");
    run_loom(c, model, tokenizer, dir, threads);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store_bench: %s\n", e.what());
    return 1;
  }
}
