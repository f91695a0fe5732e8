// Ranking metrics with trec_eval's conventions (trec_eval 9.x):
//  - a run is ordered by score descending (as float), ties by docid descending; ranks in the file
//    are ignored;
//  - a document is relevant when its qrels value >= 1; unjudged documents count as non-relevant;
//  - ndcg_cut_k: gain = the qrels value (linear, not 2^rel - 1), discount log2(rank + 1), ideal
//    ranking from all judged documents of the query with value > 0;
//  - P_k divides by k even when fewer were retrieved; recall_k and map divide by the number of
//    relevant documents (0 when there are none);
//  - only queries present in both the run and the qrels are scored, and each metric is the mean
//    over them (trec_eval without -c).
// map_cut_k is trec_eval's; mrr_cut_k (reciprocal rank of the first relevant in the top k, as
// BEIR's MRR@k) is not in trec_eval.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "retrieval/beir.h"
#include "retrieval/run.h"

namespace loom::retrieval {

struct MetricValue {
  std::string name;  // "ndcg_cut_10"
  double value;
};

struct Evaluation {
  int64_t num_q = 0;
  std::vector<MetricValue> mean;                              // in a fixed order
  std::map<std::string, std::vector<MetricValue>> per_query;  // same order
};

// Default cutoffs: 1, 3, 5, 10, 100, 1000.
Evaluation evaluate(const Qrels& qrels, const TrecRun& run,
                    const std::vector<int>& cutoffs = {1, 3, 5, 10, 100, 1000});

// Value of a named mean metric; throws loom::Error if absent.
double metric(const Evaluation& e, const std::string& name);

}  // namespace loom::retrieval
