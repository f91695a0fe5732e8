// Collection: opening (index reconciliation), search (vector, BM25, hybrid; filtered), integrity
// checks and compaction. Writes (upsert, remove) are in doc_store.cpp.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <queue>

#include "core/error.h"
#include "index/factory.h"
#include "index/index_file.h"
#include "retrieval/dense.h"
#include "retrieval/doc_store.h"

namespace loom::retrieval {

namespace {

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// Average graph degree a filtered walk expands per visited node (HNSW level 0 keeps 2M = 32).
constexpr double kGraphDegree = 32;
constexpr int64_t kDefaultEf = 64;

}  // namespace

std::vector<int64_t> Collection::chunk_ids() {
  Stmt s(*db_, "SELECT id FROM chunks WHERE coll=? ORDER BY id");
  s.bind(1, coll_id_);
  std::vector<int64_t> ids;
  while (s.step()) ids.push_back(s.int64(0));
  return ids;
}

void Collection::reconcile() {
  const std::string path = index_path();
  if (exists(path)) {
    try {
      auto idx = index::load_index(path);
      if (idx->dim() != config_.dim || idx->kind() != config_.index_kind ||
          idx->metric() != config_.metric)
        throw Error(path + ": index does not match the collection's configuration");
      index_ = std::move(idx);
    } catch (const Error&) {
      rebuilt_ = true;  // a cache: the rows rebuild it
    }
  }
  if (!index_) index_ = index::make_index(config_.index_kind, config_.dim, config_.metric);
  const std::vector<int64_t> rows = chunk_ids();
  std::unordered_set<uint64_t> row_set(rows.begin(), rows.end());
  std::vector<uint64_t> extra, missing_ids;
  const index::VectorStore& st = index_->store();
  for (uint32_t s = 0; s < st.n_slots(); ++s)
    if (!st.deleted(s) && row_set.count(st.id(s)) == 0) extra.push_back(st.id(s));
  index_->remove(extra);
  std::vector<float> vecs;
  Stmt q(*db_, "SELECT id, vec FROM chunks WHERE coll=? ORDER BY id");
  q.bind(1, coll_id_);
  const size_t row_bytes = static_cast<size_t>(config_.dim) * sizeof(float);
  while (q.step()) {
    const uint64_t id = static_cast<uint64_t>(q.int64(0));
    if (st.slot_of(id) != index::kNoSlot) continue;
    if (static_cast<size_t>(q.bytes(1)) != row_bytes)
      throw Error(db_path_ + ": chunk " + std::to_string(id) + " has a vector of " +
                  std::to_string(q.bytes(1)) + " bytes, expected " + std::to_string(row_bytes));
    missing_ids.push_back(id);
    const float* v = static_cast<const float*>(q.blob(1));
    vecs.insert(vecs.end(), v, v + config_.dim);
  }
  index_->add(missing_ids, vecs.data());
  replayed_ = static_cast<int64_t>(extra.size() + missing_ids.size());
  if (replayed_ > 0 || rebuilt_) save_index();
}

void Collection::save_index() const { index::save_index(*index_, index_path()); }

std::unordered_set<uint64_t> Collection::matching_chunks(const Filter& f) {
  check_filter(f, field_types());
  std::vector<FilterValue> params;
  const std::string sql = "SELECT c.id FROM chunks c WHERE c.coll = ? AND (" +
                          filter_sql_indexed(f, coll_id_, "c.doc", &params) + ")";
  Stmt s(*db_, sql);
  s.bind(1, coll_id_);
  bind_filter(s, 2, params);
  std::unordered_set<uint64_t> out;
  while (s.step()) out.insert(static_cast<uint64_t>(s.int64(0)));
  return out;
}

// A filtered walk must pass about ef / s nodes to find ef that match (selectivity s), each costing
// ~kGraphDegree distance evaluations; scanning the matches costs s * n. They cross at
// s* = sqrt(kGraphDegree * ef / n); below it (and always below 2 %) the exact scan is cheaper,
// and it cannot miss matches the graph fails to reach.
double Collection::exact_threshold(int64_t ef) const {
  const double n = std::max<double>(1, static_cast<double>(index_->size()));
  const double e = static_cast<double>(ef > 0 ? ef : kDefaultEf);
  return std::clamp(std::sqrt(kGraphDegree * e / n), 0.02, 1.0);
}

std::vector<std::pair<int64_t, double>> Collection::vector_search(
    const SearchRequest& r, const std::unordered_set<uint64_t>* allow, size_t k, ThreadPool& pool) {
  std::vector<float> q = r.vector;
  if (q.empty()) {
    if (encoder_ == nullptr) throw Error("collection " + name_ + ": no embedder attached");
    q = encoder_->encode(std::vector<std::string>{r.text}, TextRole::kQuery, pool);
  }
  index_->check_dim(static_cast<int64_t>(q.size()), "query vector");
  std::vector<std::pair<int64_t, double>> out;
  const int64_t n_live = index_->size();
  const double thr = r.exact_below >= 0 ? r.exact_below : exact_threshold(r.ef);
  if (allow != nullptr && static_cast<double>(allow->size()) < thr * static_cast<double>(n_live)) {
    const index::VectorStore& st = index_->store();
    const std::vector<float> pq = st.prepare_query(q.data());
    std::priority_queue<std::pair<float, uint64_t>> heap;  // the k nearest matches so far
    for (uint64_t id : *allow) {
      const uint32_t slot = st.slot_of(id);
      if (slot == index::kNoSlot) continue;
      heap.emplace(st.distance_to(pq.data(), slot), id);
      if (heap.size() > k) heap.pop();
    }
    for (; !heap.empty(); heap.pop()) out.emplace_back(heap.top().second, -heap.top().first);
    std::reverse(out.begin(), out.end());
    return out;
  }
  index::SearchParams sp;
  sp.ef = r.ef;
  if (allow != nullptr) sp.filter = [allow](uint64_t id) { return allow->count(id) != 0; };
  index::SearchResults res = index_->search(q.data(), 1, static_cast<int64_t>(k), sp);
  for (int64_t j = 0; j < res.k; ++j)
    if (res.ids[j] != index::kNoId) out.emplace_back(res.ids[j], -res.distances[j]);
  return out;
}

std::vector<std::pair<int64_t, double>> Collection::bm25_search(
    const SearchRequest& r, const std::unordered_set<uint64_t>* allow, size_t k) {
  if (!bm25_) {
    std::vector<Document> docs;
    bm25_ids_.clear();
    Stmt s(*db_,
           "SELECT c.id, c.begin, c.end, d.text FROM chunks c JOIN documents d ON "
           "d.coll = c.coll AND d.id = c.doc WHERE c.coll = ? ORDER BY c.id");
    s.bind(1, coll_id_);
    while (s.step()) {
      const std::string text = s.text(3);
      const int64_t b = s.int64(1), e = s.int64(2);
      bm25_ids_.push_back(s.int64(0));
      docs.push_back({std::to_string(s.int64(0)), "", text.substr(b, e - b)});
    }
    bm25_ = std::make_unique<Bm25Index>(docs, config_.bm25);
  }
  std::function<bool(uint32_t)> accept;
  if (allow != nullptr) accept = [&](uint32_t d) { return allow->count(bm25_ids_[d]) != 0; };
  std::vector<std::pair<int64_t, double>> out;
  for (const ScoredDoc& d : bm25_->search(r.text, k, accept))
    out.emplace_back(std::stoll(d.docid), d.score);
  return out;
}

std::vector<Hit> Collection::search(const SearchRequest& r, ThreadPool& pool) {
  std::unordered_set<uint64_t> allow;
  const bool filtered = !r.filter.empty();
  if (filtered) allow = matching_chunks(r.filter);
  const auto* a = filtered ? &allow : nullptr;
  if (r.mode == SearchMode::kVector) return hits(vector_search(r, a, r.k, pool));
  if (r.mode == SearchMode::kBm25) return hits(bm25_search(r, a, r.k));
  // Hybrid: each side contributes its top max(k, 50), fused by reciprocal rank.
  const size_t depth = std::max<size_t>(r.k, 50);
  TrecRun runs[2];
  auto as_run = [](const std::vector<std::pair<int64_t, double>>& v, TrecRun* run) {
    for (const auto& [id, score] : v) (*run)["q"].push_back({std::to_string(id), score});
  };
  as_run(vector_search(r, a, depth, pool), &runs[0]);
  as_run(bm25_search(r, a, depth), &runs[1]);
  TrecRun fused = rrf_fuse({&runs[0], &runs[1]}, r.rrf_k, depth);
  truncate_run(fused, r.k);
  std::vector<std::pair<int64_t, double>> ranked;
  for (const ScoredDoc& d : fused["q"]) ranked.emplace_back(std::stoll(d.docid), d.score);
  return hits(ranked);
}

std::vector<Hit> Collection::hits(const std::vector<std::pair<int64_t, double>>& ranked) {
  std::vector<Hit> out;
  Stmt s(*db_,
         "SELECT c.doc, c.begin, c.end, d.text FROM chunks c JOIN documents d ON "
         "d.coll = c.coll AND d.id = c.doc WHERE c.id = ?");
  for (const auto& [id, score] : ranked) {
    s.bind(1, id);
    if (s.step()) {
      Hit h{s.text(0), id, s.int64(1), s.int64(2), score, ""};
      h.text = s.text(3).substr(h.begin, h.end - h.begin);
      out.push_back(std::move(h));
    }
    s.reset();
  }
  return out;
}

void Collection::compact(ThreadPool* pool) {
  index_->consolidate(pool);
  save_index();
  db_->exec("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);");  // half-empty pages too
}

std::string Collection::check() {
  const std::string ic = db_->query_text("PRAGMA integrity_check");
  if (ic != "ok") return "PRAGMA integrity_check: " + ic;
  const std::string orphans = db_->query_text(
      "SELECT count(*) FROM chunks c LEFT JOIN documents d ON d.coll = c.coll AND d.id = c.doc "
      "WHERE d.id IS NULL");
  if (orphans != "0") return orphans + " chunks without their document";
  const int64_t rows = std::stoll(
      db_->query_text("SELECT count(*) FROM chunks WHERE coll=" + std::to_string(coll_id_)));
  if (rows != index_->size()) {
    return "index holds " + std::to_string(index_->size()) + " vectors, the rows " +
           std::to_string(rows) + " chunks";
  }
  return check_vectors();
}

// Every chunk row's vector is the index's vector for its id (as the index stores it).
std::string Collection::check_vectors() {
  const index::VectorStore& st = index_->store();
  Stmt q(*db_, "SELECT id, vec FROM chunks WHERE coll=?");
  q.bind(1, coll_id_);
  std::vector<float> v(static_cast<size_t>(config_.dim));
  while (q.step()) {
    const uint64_t id = static_cast<uint64_t>(q.int64(0));
    const uint32_t slot = st.slot_of(id);
    if (slot == index::kNoSlot) return "chunk " + std::to_string(id) + " is missing from the index";
    if (static_cast<size_t>(q.bytes(1)) != v.size() * sizeof(float))
      return "chunk " + std::to_string(id) + " has a vector of the wrong size";
    std::memcpy(v.data(), q.blob(1), v.size() * sizeof(float));
    if (config_.metric == index::Metric::kCosine) index::normalize(v.data(), config_.dim);
    for (int64_t j = 0; j < config_.dim; ++j) {
      if (std::fabs(v[j] - st.vector(slot)[j]) > 1e-6f)
        return "chunk " + std::to_string(id) + ": the index holds another vector";
    }
  }
  return "";
}

CollectionInfo Collection::info() {
  CollectionInfo i;
  i.name = name_;
  i.config = config_;
  const std::string c = std::to_string(coll_id_);
  i.documents = std::stoll(db_->query_text("SELECT count(*) FROM documents WHERE coll=" + c));
  i.chunks = std::stoll(db_->query_text("SELECT count(*) FROM chunks WHERE coll=" + c));
  i.index_live = index_->size();
  i.index_deleted = index_->n_deleted();
  i.index_memory = index_->memory_bytes();
  i.replayed = replayed_;
  i.rebuilt = rebuilt_;
  return i;
}

}  // namespace loom::retrieval
