// A DocRetriever for the RAG tests: the same documents for every query, the queries recorded.
#pragma once

#include <algorithm>
#include <vector>

#include "rag/doc_retriever.h"

namespace loom::rag {

class FixedRetriever : public DocRetriever {
 public:
  explicit FixedRetriever(std::vector<ReplugDocument> docs) : docs_(std::move(docs)) {}
  std::vector<ReplugDocument> retrieve(std::span<const int32_t> query, size_t k) const override {
    queries.emplace_back(query.begin(), query.end());
    return {docs_.begin(), docs_.begin() + static_cast<ptrdiff_t>(std::min(k, docs_.size()))};
  }
  mutable std::vector<std::vector<int32_t>> queries;

 private:
  std::vector<ReplugDocument> docs_;
};

}  // namespace loom::rag
