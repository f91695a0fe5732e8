// POST /v1/search: the collections of one document store (`loom serve --db FILE`), searched with
// the served model's embedder.
//
// Embedder rule: a collection's vectors are only comparable with queries embedded the same way,
// so every collection in the store must record the served model's embedder identity (model file,
// tokenizer, pooling, token limit: retrieval::embedder_identity) and dimension. The server
// refuses to start otherwise, with one line naming the collection and both embedders.
//
// A collection created after the server started (`loom collection create` on the same store) is
// opened at the first search that names it: a miss reads the store's collection list again.
//
// Threads: each collection keeps its own SQLite connection (inside retrieval::Collection) plus
// one for metadata, both used only under that collection's mutex, because a connection, the
// lazily built BM25 index and the vector index's search state are not shared-thread safe. A
// search embeds its query before taking the lock (the embedder is read-only and shared), so
// searches of one collection serialise only over the index walk and row reads; searches of
// different collections run at once.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "embed/embedder.h"
#include "server/request.h"
#include "server/response.h"

namespace loom::retrieval {
class EmbedderEncoder;
}

namespace loom::server {

class SearchService {
 public:
  // Opens every collection in db_path; a loom::Error when the store cannot be opened or a
  // collection was built with another embedder than `identity` (of `embedder`).
  SearchService(const std::string& db_path, const embed::Embedder& embedder,
                const std::string& identity);
  ~SearchService();

  const std::string& db_path() const { return db_path_; }
  std::vector<std::string> collections() const;
  // ApiError 404 for an unknown collection, 400 for a filter on unknown fields or wrong types or
  // a collection added since the start with another embedder.
  std::vector<SearchHit> search(const SearchQuery& query) const;

 private:
  struct Entry;
  // The open collection `name`, opening the store's new ones on a miss; nullptr: none.
  Entry* find(const std::string& name) const;
  void open_new() const;  // under mu_

  std::string db_path_;
  std::string identity_;
  int64_t dim_ = 0;
  std::unique_ptr<retrieval::EmbedderEncoder> encoder_;
  mutable std::mutex mu_;  // entries_ (an Entry, once in, stays; its own mutex guards it)
  mutable std::map<std::string, std::unique_ptr<Entry>> entries_;
};

}  // namespace loom::server
