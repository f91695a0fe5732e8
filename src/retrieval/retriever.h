// Dense and hybrid retrieval as library objects: build from documents and a text encoder (an
// embedder), then search(query, k) -> ranked documents with scores. The CLI's `loom eval
// retrieval`, the server's /search and the Python module all go through these.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/threads.h"
#include "embed/embedder.h"
#include "index/index.h"
#include "retrieval/beir.h"
#include "retrieval/bm25.h"
#include "retrieval/run.h"

namespace loom::retrieval {

// What a text is embedded as (asymmetric models embed queries and documents differently).
enum class TextRole { kQuery, kDocument };

// Texts -> vectors; what a dense retriever embeds documents and queries with.
class TextEncoder {
 public:
  virtual ~TextEncoder() = default;
  virtual int64_t dim() const = 0;
  // texts (n) -> (n, dim()) row-major.
  virtual std::vector<float> encode(std::span<const std::string> texts, TextRole role,
                                    ThreadPool& pool) const = 0;
};

// An embed::Embedder (not owned; it outlives this) as a TextEncoder: both roles alike.
class EmbedderEncoder : public TextEncoder {
 public:
  explicit EmbedderEncoder(const embed::Embedder& embedder) : embedder_(embedder) {}
  int64_t dim() const override { return embedder_.dim(); }
  std::vector<float> encode(std::span<const std::string> texts, TextRole role,
                            ThreadPool& pool) const override;

 private:
  const embed::Embedder& embedder_;
};

// The text a document is embedded and indexed as: title + " " + text (BEIR's convention).
std::string document_text(const Document& d);

struct DenseOptions {
  std::string index_type = "flat";  // index::make_index kinds: flat, hnsw, vamana
  index::Metric metric = index::Metric::kCosine;
};

// Documents in a vector index; a score is the similarity (ip/cos) or minus the squared L2
// distance.
class DenseRetriever {
 public:
  // Precomputed document vectors (doc_ids.size(), dim) row-major, row i for doc_ids[i]. Such a
  // retriever searches query vectors only, unless an encoder is given for the query texts.
  DenseRetriever(std::vector<std::string> doc_ids, std::span<const float> vectors, int64_t dim,
                 const DenseOptions& options, ThreadPool* pool = nullptr,
                 const TextEncoder* encoder = nullptr);
  // Embeds the documents (document_text) with encoder, which must outlive the retriever and
  // embeds the queries later.
  DenseRetriever(const std::vector<Document>& docs, const TextEncoder& encoder,
                 const DenseOptions& options, ThreadPool& pool);

  int64_t dim() const { return index_->dim(); }
  size_t size() const { return doc_ids_.size(); }

  // The top k documents of one query (trec_eval order: score descending, ties by docid).
  std::vector<ScoredDoc> search(const std::string& query, size_t k, ThreadPool& pool) const;
  std::vector<ScoredDoc> search_vector(const float* query_vector, size_t k) const;
  // Every query: query_vectors (queries.size(), dim) when given, else embedded with the encoder.
  TrecRun search_all(const std::vector<Query>& queries, size_t k, ThreadPool& pool,
                     const float* query_vectors = nullptr) const;

 private:
  std::vector<float> embed_queries(const std::vector<Query>& queries, ThreadPool& pool) const;

  std::vector<std::string> doc_ids_;
  std::unique_ptr<index::Index> index_;
  const TextEncoder* encoder_ = nullptr;
};

struct HybridOptions {
  Bm25Params bm25;
  double rrf_k = 60;      // reciprocal-rank fusion constant
  size_t candidates = 0;  // documents each retriever contributes to the fusion (0: k)
};

// BM25 and a dense retriever over the same documents, fused by reciprocal rank (rrf_fuse).
class HybridRetriever {
 public:
  HybridRetriever(const std::vector<Document>& docs, std::unique_ptr<DenseRetriever> dense,
                  const HybridOptions& options);

  std::vector<ScoredDoc> search(const std::string& query, size_t k, ThreadPool& pool) const;
  TrecRun search_all(const std::vector<Query>& queries, size_t k, ThreadPool& pool,
                     const float* query_vectors = nullptr) const;

  const Bm25Index& lexical() const { return bm25_; }
  const DenseRetriever& dense() const { return *dense_; }

 private:
  Bm25Index bm25_;
  std::unique_ptr<DenseRetriever> dense_;
  HybridOptions options_;
};

}  // namespace loom::retrieval
