#include "retrieval/retriever.h"

#include "core/error.h"
#include "index/factory.h"
#include "retrieval/dense.h"

namespace loom::retrieval {

std::vector<float> EmbedderEncoder::encode(std::span<const std::string> texts, TextRole,
                                           ThreadPool& pool) const {
  return embedder_.embed(texts, pool);
}

std::string document_text(const Document& d) {
  return d.title.empty() ? d.text : d.title + " " + d.text;
}

DenseRetriever::DenseRetriever(std::vector<std::string> doc_ids, std::span<const float> vectors,
                               int64_t dim, const DenseOptions& options, ThreadPool* pool,
                               const TextEncoder* encoder)
    : doc_ids_(std::move(doc_ids)), encoder_(encoder) {
  if (dim <= 0 || vectors.size() != doc_ids_.size() * static_cast<size_t>(dim)) {
    throw Error("dense retriever: " + std::to_string(vectors.size()) + " values for " +
                std::to_string(doc_ids_.size()) + " documents of " + std::to_string(dim) + " dims");
  }
  if (encoder_ != nullptr && encoder_->dim() != dim) {
    throw Error("dense retriever: the encoder gives " + std::to_string(encoder_->dim()) +
                " dims, the document vectors have " + std::to_string(dim));
  }
  index_ = index::make_index(options.index_type, dim, options.metric);
  std::vector<uint64_t> ids(doc_ids_.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = i;
  index_->add(ids, vectors.data(), pool);
}

namespace {

std::vector<std::string> ids_of(const std::vector<Document>& docs) {
  std::vector<std::string> ids;
  ids.reserve(docs.size());
  for (const Document& d : docs) ids.push_back(d.id);
  return ids;
}

std::vector<float> embed_documents(const std::vector<Document>& docs, const TextEncoder& encoder,
                                   ThreadPool& pool) {
  std::vector<std::string> texts;
  texts.reserve(docs.size());
  for (const Document& d : docs) texts.push_back(document_text(d));
  return encoder.encode(texts, TextRole::kDocument, pool);
}

}  // namespace

DenseRetriever::DenseRetriever(const std::vector<Document>& docs, const TextEncoder& encoder,
                               const DenseOptions& options, ThreadPool& pool)
    : DenseRetriever(ids_of(docs), embed_documents(docs, encoder, pool), encoder.dim(), options,
                     &pool, &encoder) {}

std::vector<float> DenseRetriever::embed_queries(const std::vector<Query>& queries,
                                                 ThreadPool& pool) const {
  if (encoder_ == nullptr)
    throw Error("dense retriever: built from vectors alone, it needs query vectors too");
  std::vector<std::string> texts;
  texts.reserve(queries.size());
  for (const Query& q : queries) texts.push_back(q.text);
  return encoder_->encode(texts, TextRole::kQuery, pool);
}

std::vector<ScoredDoc> DenseRetriever::search(const std::string& query, size_t k,
                                              ThreadPool& pool) const {
  const std::vector<float> v = embed_queries({Query{"", query}}, pool);
  return search_vector(v.data(), k);
}

std::vector<ScoredDoc> DenseRetriever::search_vector(const float* query_vector, size_t k) const {
  TrecRun run = dense_search(*index_, doc_ids_, {Query{"", ""}}, query_vector, k);
  std::vector<ScoredDoc>& docs = run[""];
  sort_trec(docs);
  return std::move(docs);
}

TrecRun DenseRetriever::search_all(const std::vector<Query>& queries, size_t k, ThreadPool& pool,
                                   const float* query_vectors) const {
  std::vector<float> embedded;
  if (query_vectors == nullptr) {
    embedded = embed_queries(queries, pool);
    query_vectors = embedded.data();
  }
  index::SearchParams sp;
  sp.pool = &pool;
  return dense_search(*index_, doc_ids_, queries, query_vectors, k, sp);
}

HybridRetriever::HybridRetriever(const std::vector<Document>& docs,
                                 std::unique_ptr<DenseRetriever> dense,
                                 const HybridOptions& options)
    : bm25_(docs, options.bm25), dense_(std::move(dense)), options_(options) {
  LOOM_ASSERT(dense_ != nullptr, "hybrid retriever needs a dense retriever");
  if (dense_->size() != docs.size()) {
    throw Error("hybrid retriever: the dense retriever holds " + std::to_string(dense_->size()) +
                " documents, BM25 " + std::to_string(docs.size()));
  }
}

std::vector<ScoredDoc> HybridRetriever::search(const std::string& query, size_t k,
                                               ThreadPool& pool) const {
  TrecRun run = search_all({Query{"", query}}, k, pool);
  return std::move(run[""]);
}

TrecRun HybridRetriever::search_all(const std::vector<Query>& queries, size_t k, ThreadPool& pool,
                                    const float* query_vectors) const {
  const size_t depth = options_.candidates > 0 ? options_.candidates : k;
  const TrecRun lexical = bm25_.search_all(queries, depth, &pool);
  const TrecRun dense = dense_->search_all(queries, depth, pool, query_vectors);
  TrecRun fused = rrf_fuse({&lexical, &dense}, options_.rrf_k, depth);
  truncate_run(fused, k);
  return fused;
}

}  // namespace loom::retrieval
