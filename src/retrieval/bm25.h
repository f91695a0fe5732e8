// Okapi BM25 over an in-memory inverted index.
//   score(q, d) = sum over query tokens t (repeats count again) of
//                 idf(t) * tf (k1 + 1) / (tf + k1 (1 - b + b |d| / avgdl))
//   idf(t)      = ln(1 + (N - df + 0.5) / (df + 0.5))            (Lucene's, always positive)
// Defaults k1 = 0.9, b = 0.4 (Pyserini's defaults). Document text is title + " " + text, as BEIR
// indexes it. Unlike Lucene, document lengths are exact (no one-byte norm encoding), so scores
// differ slightly from Pyserini's. The analyzer may drop stopwords and Porter-stem (analyzer.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/threads.h"
#include "retrieval/analyzer.h"
#include "retrieval/beir.h"
#include "retrieval/run.h"

namespace loom::retrieval {

struct Bm25Params {
  double k1 = 0.9;
  double b = 0.4;
  AnalyzerOptions analyzer;
};

// "k1=0.9 b=0.4 stopwords=no stem=no", as `loom collection info` shows the settings.
std::string bm25_settings_text(const Bm25Params& p);

class Bm25Index {
 public:
  Bm25Index(const std::vector<Document>& corpus, Bm25Params params = {});
  // Top k documents of one query (score descending, ties by docid descending).
  std::vector<ScoredDoc> search(const std::string& query, size_t k) const;
  // The same over the documents (numbered in corpus order) that accept(number) keeps.
  std::vector<ScoredDoc> search(const std::string& query, size_t k,
                                const std::function<bool(uint32_t)>& accept) const;
  // Every query, optionally on a pool.
  TrecRun search_all(const std::vector<Query>& queries, size_t k, ThreadPool* pool = nullptr) const;
  size_t n_docs() const { return doc_ids_.size(); }
  size_t n_terms() const { return postings_.size(); }
  double avg_doc_len() const { return avgdl_; }

 private:
  struct Posting {
    uint32_t doc;
    uint32_t tf;
  };
  Bm25Params p_;
  std::vector<std::string> doc_ids_;
  std::vector<uint32_t> doc_len_;
  std::unordered_map<std::string, std::vector<Posting>> postings_;
  double avgdl_ = 0;
};

}  // namespace loom::retrieval
