// A document store on one SQLite file (WAL mode): collections of documents (id, text, JSON
// metadata) split into chunks (children, each linked to its parent document and its byte range),
// with a vector index per collection saved beside the database (DB.NAME.idx) and a BM25 index
// built in memory from the chunk texts.
//
// Consistency rule: the database is the source of truth. Each chunk row holds its vector, and
// chunk ids come from AUTOINCREMENT, so they are never reused and a chunk id always names the same
// vector. The index file is a cache: on open, its live ids are compared with the chunk rows;
// ids it has that the rows lack are removed, rows it lacks are added from their stored vectors
// (a crash between a commit and the next index save costs a replay, never a document). An
// unreadable index file is rebuilt from the rows. An upsert or delete is one transaction; the
// in-memory indexes follow it only after it commits.
//
// The schema version lives in meta('schema_version'); a file from a newer version is refused, an
// older one is upgraded on open. Version 2 added the bm25 settings table (a collection without a
// row keeps the defaults it was built with); version 3 the metadata side table meta_values(coll,
// doc, key, val): one row per top-level metadata key with the value json_extract gives for it,
// indexed on (coll, key, val) so a filter reads the index instead of every document's JSON. It
// is written in the upsert's or delete's transaction; an older file gets it built on open.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/threads.h"
#include "embed/embedder.h"
#include "index/index.h"
#include "retrieval/bm25.h"
#include "retrieval/chunker.h"
#include "retrieval/filter.h"
#include "retrieval/retriever.h"
#include "retrieval/sqlite_db.h"

namespace loom::retrieval {

inline constexpr int64_t kDocStoreSchemaVersion = 3;

struct CollectionConfig {
  // Identity of the embedder the vectors come from (model path, pooling, normalisation, dims):
  // opening the collection with another one is an error.
  std::string embedder;
  int64_t dim = 0;
  std::string index_kind = "hnsw";  // index::make_index kinds
  index::Metric metric = index::Metric::kCosine;
  ChunkOptions chunking;
  // BM25's k1, b and analyzer (table bm25; a collection from before it has Bm25Params' defaults).
  Bm25Params bm25;
};

struct DocInput {
  std::string id, text;
  std::string metadata = "{}";  // a JSON object
};

enum class SearchMode { kVector, kBm25, kHybrid };

struct SearchRequest {
  std::string text;           // query text (BM25; embedded when no vector is given)
  std::vector<float> vector;  // query vector (dim), optional
  Filter filter;              // metadata filter on the parent documents
  SearchMode mode = SearchMode::kVector;
  size_t k = 10;
  int64_t ef = 0;     // index beam width (0: the index's default)
  double rrf_k = 60;  // hybrid fusion constant
  // Exact search over the matching chunks when the filter keeps fewer than this fraction of
  // them; < 0 chooses it from the index size (see Collection::exact_threshold).
  double exact_below = -1;
};

struct Hit {
  std::string doc_id;
  int64_t chunk_id = 0, begin = 0, end = 0;  // the chunk and its bytes in the parent's text
  double score = 0;                          // similarity, BM25 score or RRF score
  std::string text;                          // the chunk's text
};

struct CollectionInfo {
  std::string name;
  CollectionConfig config;
  int64_t documents = 0, chunks = 0, index_live = 0, index_deleted = 0, index_memory = 0;
  int64_t replayed = 0;  // index entries added or removed on open to match the rows
  bool rebuilt = false;  // the index file was missing or unreadable and was rebuilt
};

// What a collection records as its embedder: the model and tokenizer files (absolute paths),
// the pooling configuration (pooling, normalisation, truncation) and the token limit.
std::string embedder_identity(const std::string& model_path, const std::string& tokenizer_path,
                              const embed::Embedder& embedder);

// Opens (creating) the store file and checks its schema version.
std::unique_ptr<Db> open_store(const std::string& path, bool create);
void create_collection(const std::string& db_path, const std::string& name,
                       const CollectionConfig& config);
std::vector<std::string> list_collections(const std::string& db_path);

// Binds a filter's parameters (filter_sql, filter_sql_indexed) from placeholder `first` on.
void bind_filter(Stmt& s, int first, const std::vector<FilterValue>& params);

class Collection {
 public:
  Collection(const std::string& db_path, const std::string& name);
  ~Collection();

  const std::string& name() const { return name_; }
  const CollectionConfig& config() const { return config_; }
  std::string index_path() const;
  // The encoder that embeds documents and queries, and the tokenizer's counter for chunking by
  // tokens. Throws when identity or the encoder's dim differ from the collection's.
  void attach_encoder(const TextEncoder& encoder, const std::string& identity,
                      TokenCountFn count_tokens = {});

  // Inserts or replaces documents (one transaction). vectors, when given, holds one row per
  // chunk in order (documents in order, their chunks in order) instead of embedding them.
  void upsert(const std::vector<DocInput>& docs, ThreadPool& pool,
              const std::vector<float>* vectors = nullptr);
  // Deletes documents; returns how many existed.
  int64_t remove(const std::vector<std::string>& ids);
  std::vector<Hit> search(const SearchRequest& request, ThreadPool& pool);
  // Fraction of matching chunks below which a filtered search scans the matches exactly.
  double exact_threshold(int64_t ef) const;

  // Writes the vector index file atomically (temporary name, fsync, rename).
  void save_index() const;
  // Drops tombstones from the index, saves it, and rewrites the database (VACUUM) so space freed
  // by deletes, half-empty pages included, goes back to the file system.
  void compact(ThreadPool* pool = nullptr);
  // PRAGMA integrity_check, no chunk without its document, and the index holding exactly the
  // chunk rows with their vectors; "" when sound, else what is wrong.
  std::string check();
  CollectionInfo info();
  std::map<std::string, FieldType> field_types();
  const index::Index& vector_index() const { return *index_; }

 private:
  struct Prepared;
  Prepared prepare(const std::vector<DocInput>& docs, ThreadPool& pool,
                   const std::vector<float>* vectors);
  void reconcile();
  void forget_vectors(const std::vector<uint64_t>& ids);
  std::string check_vectors();
  std::vector<int64_t> chunk_ids();
  std::unordered_set<uint64_t> matching_chunks(const Filter& f);
  std::vector<std::pair<int64_t, double>> vector_search(const SearchRequest& r,
                                                        const std::unordered_set<uint64_t>* allow,
                                                        size_t k, ThreadPool& pool);
  std::vector<std::pair<int64_t, double>> bm25_search(const SearchRequest& r,
                                                      const std::unordered_set<uint64_t>* allow,
                                                      size_t k);
  std::vector<Hit> hits(const std::vector<std::pair<int64_t, double>>& ranked);

  std::string db_path_, name_;
  int64_t coll_id_ = 0;
  CollectionConfig config_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<index::Index> index_;
  const TextEncoder* encoder_ = nullptr;
  TokenCountFn count_tokens_;
  std::unique_ptr<Bm25Index> bm25_;  // built on first use after a change
  std::vector<int64_t> bm25_ids_;    // BM25 document number -> chunk id
  int64_t replayed_ = 0;
  bool rebuilt_ = false;
};

}  // namespace loom::retrieval
