// Ranked results per query ("runs") and the TREC run format: qid Q0 docid rank score tag.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace loom::retrieval {

struct ScoredDoc {
  std::string docid;
  double score;
};
// qid -> documents (any order; see sort_trec)
using TrecRun = std::map<std::string, std::vector<ScoredDoc>>;

// Orders documents as trec_eval does: score descending (compared as float, as trec_eval stores
// them), ties broken by docid descending (strcmp). trec_eval ignores the rank column.
void sort_trec(std::vector<ScoredDoc>& docs);

// Reads a run; wrong field counts, bad scores and a document listed twice for one query are
// errors naming file:line.
TrecRun load_run(const std::string& path);
TrecRun parse_run(const std::string& text, const std::string& name);
// Writes every query's documents in trec_eval order with ranks 1.., scores with %.6g-like
// round-trip precision; atomically.
void save_run(const TrecRun& run, const std::string& path, const std::string& tag);
std::string format_run(const TrecRun& run, const std::string& tag);

// Keeps the first k documents of every query in trec_eval order.
void truncate_run(TrecRun& run, size_t k);

}  // namespace loom::retrieval
