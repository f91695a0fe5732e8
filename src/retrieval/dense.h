// Dense retrieval through any vector index, and hybrid retrieval by reciprocal-rank fusion.
#pragma once

#include <string>
#include <vector>

#include "index/index.h"
#include "retrieval/beir.h"
#include "retrieval/run.h"

namespace loom::retrieval {

// Searches index (whose caller id i is doc_ids[i]) with query vectors (queries.size(), dim);
// the score is the similarity (ip/cos) or minus the squared L2 distance.
TrecRun dense_search(const index::Index& index, const std::vector<std::string>& doc_ids,
                     const std::vector<Query>& queries, const float* query_vectors, size_t k,
                     const index::SearchParams& params = {});

// Reciprocal-rank fusion (Cormack et al. 2009): score(d) = sum over runs of 1 / (rrf_k + rank),
// ranks 1-based in each run's trec_eval order; each run contributes its first `depth` documents.
TrecRun rrf_fuse(const std::vector<const TrecRun*>& runs, double rrf_k = 60, size_t depth = 1000);

}  // namespace loom::retrieval
