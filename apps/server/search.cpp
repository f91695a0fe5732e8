#include "server/search.h"

#include <mutex>

#include "core/error.h"
#include "core/threads.h"
#include "retrieval/doc_store.h"
#include "retrieval/retriever.h"

namespace loom::server {

namespace rt = retrieval;

struct SearchService::Entry {
  std::unique_ptr<rt::Collection> collection;
  std::unique_ptr<rt::Db> db;  // documents' metadata
  int64_t coll_id = 0;
  std::mutex mu;
};

namespace {

rt::SearchMode store_mode(SearchKind k) {
  switch (k) {
    case SearchKind::kBm25:
      return rt::SearchMode::kBm25;
    case SearchKind::kHybrid:
      return rt::SearchMode::kHybrid;
    case SearchKind::kVector:
      break;
  }
  return rt::SearchMode::kVector;
}

int64_t collection_id(rt::Db& db, const std::string& name) {
  rt::Stmt s(db, "SELECT id FROM collections WHERE name=?");
  s.bind(1, std::string_view(name));
  if (!s.step()) throw Error(db.path() + ": no collection named '" + name + "'");
  return s.int64(0);
}

void check_embedder(const std::string& db_path, const rt::Collection& c,
                    const std::string& identity, int64_t dim) {
  const rt::CollectionConfig& cfg = c.config();
  if (cfg.embedder == identity && cfg.dim == dim) return;
  throw Error("serve --db " + db_path + ": collection '" + c.name() + "' was built with " +
              cfg.embedder + " (dim " + std::to_string(cfg.dim) + "), but queries would be " +
              "embedded with " + identity + " (dim " + std::to_string(dim) +
              "): serve the model the collection was created with");
}

// Each hit with its document's metadata.
std::vector<SearchHit> with_metadata(rt::Db& db, int64_t coll_id,
                                     const std::vector<rt::Hit>& hits) {
  rt::Stmt s(db, "SELECT meta FROM documents WHERE coll=? AND id=?");
  std::vector<SearchHit> out;
  for (const rt::Hit& h : hits) {
    SearchHit o{h.doc_id, h.text, "{}", h.score, h.begin, h.end};
    s.bind(1, coll_id).bind(2, std::string_view(h.doc_id));
    if (s.step()) o.metadata = s.text(0);
    s.reset();
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

SearchService::SearchService(const std::string& db_path, const embed::Embedder& embedder,
                             const std::string& identity)
    : db_path_(db_path),
      identity_(identity),
      dim_(embedder.dim()),
      encoder_(std::make_unique<rt::EmbedderEncoder>(embedder)) {
  std::lock_guard<std::mutex> lock(mu_);
  open_new();
}

SearchService::~SearchService() = default;

void SearchService::open_new() const {
  for (const std::string& name : rt::list_collections(db_path_)) {
    if (entries_.count(name) != 0) continue;
    auto e = std::make_unique<Entry>();
    e->collection = std::make_unique<rt::Collection>(db_path_, name);
    check_embedder(db_path_, *e->collection, identity_, dim_);
    e->db = rt::open_store(db_path_, false);
    e->coll_id = collection_id(*e->db, name);
    entries_.emplace(name, std::move(e));
  }
}

SearchService::Entry* SearchService::find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it != entries_.end()) return it->second.get();
  try {
    open_new();
  } catch (const Error& e) {  // a collection added since the start that cannot be served
    throw ApiError(400, e.what(), "collection");
  }
  it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.get();
}

std::vector<std::string> SearchService::collections() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& entry : entries_) names.push_back(entry.first);
  return names;
}

std::vector<SearchHit> SearchService::search(const SearchQuery& q) const {
  Entry* found = find(q.collection);
  if (found == nullptr) {
    std::string known;
    for (const std::string& n : collections()) known += (known.empty() ? "" : ", ") + n;
    throw ApiError(404,
                   "collection '" + q.collection + "' not found in " + db_path_ +
                       " (it holds: " + (known.empty() ? "no collections" : known) + ")",
                   "collection", "invalid_request_error", "collection_not_found");
  }
  Entry& e = *found;
  rt::SearchRequest r;
  r.text = q.query;
  r.mode = store_mode(q.mode);
  r.k = static_cast<size_t>(q.k);
  r.filter = q.where;
  r.ef = q.ef;
  if (q.rrf_k) r.rrf_k = *q.rrf_k;
  ThreadPool pool(1);
  if (r.mode != rt::SearchMode::kBm25)
    r.vector = encoder_->encode(std::vector<std::string>{q.query}, rt::TextRole::kQuery, pool);
  std::lock_guard<std::mutex> lock(e.mu);
  try {
    rt::check_filter(r.filter, e.collection->field_types());
  } catch (const Error& err) {
    throw ApiError(400, std::string("where: ") + err.what(), "where");
  }
  return with_metadata(*e.db, e.coll_id, e.collection->search(r, pool));
}

}  // namespace loom::server
