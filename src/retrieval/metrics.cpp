#include "retrieval/metrics.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace loom::retrieval {

namespace {

// One query's ranking against its judgements.
struct Ranked {
  std::vector<int> rel;  // judged value of each retrieved document in trec_eval order; -1 unjudged
  int64_t num_rel = 0;   // documents judged relevant (value >= 1)
  std::vector<int> gains;  // judged values > 0, descending: the ideal ranking's gains
};

Ranked rank_query(const std::map<std::string, int>& judged, std::vector<ScoredDoc> docs) {
  sort_trec(docs);
  Ranked r;
  r.rel.resize(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    auto it = judged.find(docs[i].docid);
    r.rel[i] = it == judged.end() ? -1 : it->second;
  }
  for (const auto& [d, v] : judged) {
    if (v >= 1) ++r.num_rel;
    if (v > 0) r.gains.push_back(v);
  }
  std::sort(r.gains.rbegin(), r.gains.rend());
  return r;
}

// Relevant documents among the first k retrieved.
int64_t relevant_in_top(const Ranked& r, size_t k) {
  int64_t c = 0;
  for (size_t i = 0; i < std::min(k, r.rel.size()); ++i) c += r.rel[i] >= 1;
  return c;
}

double average_precision(const Ranked& r, size_t k) {
  double sum = 0;
  int64_t seen = 0;
  for (size_t i = 0; i < std::min(k, r.rel.size()); ++i) {
    if (r.rel[i] >= 1) sum += static_cast<double>(++seen) / static_cast<double>(i + 1);
  }
  return r.num_rel ? sum / static_cast<double>(r.num_rel) : 0.0;
}

double ndcg(const Ranked& r, size_t k) {
  double dcg = 0, idcg = 0;
  for (size_t i = 0; i < std::min(k, r.rel.size()); ++i) {
    if (r.rel[i] > 0) dcg += r.rel[i] / std::log2(static_cast<double>(i + 2));
  }
  for (size_t i = 0; i < std::min(k, r.gains.size()); ++i) {
    idcg += r.gains[i] / std::log2(static_cast<double>(i + 2));
  }
  return idcg > 0 ? dcg / idcg : dcg;
}

std::vector<MetricValue> score_query(const std::map<std::string, int>& judged,
                                     std::vector<ScoredDoc> docs, const std::vector<int>& cutoffs) {
  const Ranked r = rank_query(judged, std::move(docs));
  const size_t n = r.rel.size();
  std::vector<MetricValue> out;
  out.push_back({"num_ret", static_cast<double>(n)});
  out.push_back({"num_rel", static_cast<double>(r.num_rel)});
  out.push_back({"num_rel_ret", static_cast<double>(relevant_in_top(r, n))});
  out.push_back({"map", average_precision(r, n)});
  for (int k : cutoffs)
    out.push_back({"map_cut_" + std::to_string(k), average_precision(r, static_cast<size_t>(k))});
  const size_t first = static_cast<size_t>(
      std::find_if(r.rel.begin(), r.rel.end(), [](int v) { return v >= 1; }) - r.rel.begin());
  const double rr = first < n ? 1.0 / static_cast<double>(first + 1) : 0.0;
  out.push_back({"recip_rank", rr});
  for (int k : cutoffs)
    out.push_back({"mrr_cut_" + std::to_string(k), first < static_cast<size_t>(k) ? rr : 0.0});
  for (int k : cutoffs) {
    const double hits = static_cast<double>(relevant_in_top(r, static_cast<size_t>(k)));
    out.push_back({"P_" + std::to_string(k), hits / k});
  }
  for (int k : cutoffs) {
    const double hits = static_cast<double>(relevant_in_top(r, static_cast<size_t>(k)));
    out.push_back(
        {"recall_" + std::to_string(k), r.num_rel ? hits / static_cast<double>(r.num_rel) : 0.0});
  }
  for (int k : cutoffs)
    out.push_back({"ndcg_cut_" + std::to_string(k), ndcg(r, static_cast<size_t>(k))});
  return out;
}

}  // namespace

Evaluation evaluate(const Qrels& qrels, const TrecRun& run, const std::vector<int>& cutoffs) {
  for (int k : cutoffs) {
    if (k <= 0) throw Error("metric cutoffs must be positive, got " + std::to_string(k));
  }
  Evaluation e;
  std::vector<double> sums;
  for (const auto& [qid, docs] : run) {
    auto it = qrels.find(qid);
    if (it == qrels.end()) continue;
    auto values = score_query(it->second, docs, cutoffs);
    if (sums.empty()) {
      sums.assign(values.size(), 0.0);
      e.mean = values;
    }
    for (size_t i = 0; i < values.size(); ++i) sums[i] += values[i].value;
    e.per_query[qid] = std::move(values);
    ++e.num_q;
  }
  for (size_t i = 0; i < e.mean.size(); ++i) {
    const std::string& name = e.mean[i].name;
    // Counts are summed over queries, as trec_eval prints them; the rest are means.
    bool count = name == "num_ret" || name == "num_rel" || name == "num_rel_ret";
    e.mean[i].value = count ? sums[i] : sums[i] / static_cast<double>(e.num_q);
  }
  e.mean.insert(e.mean.begin(), MetricValue{"num_q", static_cast<double>(e.num_q)});
  return e;
}

double metric(const Evaluation& e, const std::string& name) {
  for (const auto& m : e.mean)
    if (m.name == name) return m.value;
  throw Error("no metric named '" + name + "' in this evaluation");
}

}  // namespace loom::retrieval
