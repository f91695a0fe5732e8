#include "retrieval/dense.h"

#include <map>

#include "core/error.h"

namespace loom::retrieval {

TrecRun dense_search(const index::Index& idx, const std::vector<std::string>& doc_ids,
                     const std::vector<Query>& queries, const float* query_vectors, size_t k,
                     const index::SearchParams& params) {
  auto res = idx.search(query_vectors, static_cast<int64_t>(queries.size()),
                        static_cast<int64_t>(k), params);
  TrecRun run;
  for (size_t i = 0; i < queries.size(); ++i) {
    auto& docs = run[queries[i].id];
    for (size_t j = 0; j < k; ++j) {
      uint64_t id = res.ids[i * k + j];
      if (id == index::kNoId) break;
      if (id >= doc_ids.size()) {
        throw Error("dense search: index id " + std::to_string(id) + " has no document (" +
                    std::to_string(doc_ids.size()) + " documents)");
      }
      docs.push_back({doc_ids[id], index::score_from_distance(res.distances[i * k + j])});
    }
  }
  return run;
}

TrecRun rrf_fuse(const std::vector<const TrecRun*>& runs, double rrf_k, size_t depth) {
  std::map<std::string, std::map<std::string, double>> acc;
  for (const TrecRun* r : runs) {
    for (const auto& [qid, docs] : *r) {
      std::vector<ScoredDoc> sorted = docs;
      sort_trec(sorted);
      auto& a = acc[qid];
      for (size_t i = 0; i < sorted.size() && i < depth; ++i) {
        a[sorted[i].docid] += 1.0 / (rrf_k + static_cast<double>(i + 1));
      }
    }
  }
  TrecRun out;
  for (auto& [qid, scores] : acc) {
    auto& docs = out[qid];
    for (auto& [d, s] : scores) docs.push_back({d, s});
    sort_trec(docs);
  }
  return out;
}

}  // namespace loom::retrieval
