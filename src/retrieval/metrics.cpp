#include "retrieval/metrics.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace loom::retrieval {

namespace {

std::vector<MetricValue> score_query(const std::map<std::string, int>& judged,
                                     std::vector<ScoredDoc> docs, const std::vector<int>& cutoffs) {
  sort_trec(docs);
  const size_t n = docs.size();
  std::vector<int> rel(n);
  for (size_t i = 0; i < n; ++i) {
    auto it = judged.find(docs[i].docid);
    rel[i] = it == judged.end() ? -1 : it->second;
  }
  int64_t num_rel = 0;
  std::vector<int> gains;  // judged values > 0, for the ideal ranking
  for (const auto& [d, r] : judged) {
    if (r >= 1) ++num_rel;
    if (r > 0) gains.push_back(r);
  }
  std::sort(gains.rbegin(), gains.rend());

  std::vector<MetricValue> out;
  out.push_back({"num_ret", static_cast<double>(n)});
  out.push_back({"num_rel", static_cast<double>(num_rel)});
  int64_t rel_ret = 0;
  for (int r : rel) rel_ret += r >= 1;
  out.push_back({"num_rel_ret", static_cast<double>(rel_ret)});

  // Average precision, full and cut.
  auto ap_at = [&](size_t k) {
    double sum = 0;
    int64_t seen = 0;
    for (size_t i = 0; i < std::min(k, n); ++i) {
      if (rel[i] >= 1) sum += static_cast<double>(++seen) / static_cast<double>(i + 1);
    }
    return num_rel ? sum / static_cast<double>(num_rel) : 0.0;
  };
  out.push_back({"map", ap_at(n)});
  for (int k : cutoffs)
    out.push_back({"map_cut_" + std::to_string(k), ap_at(static_cast<size_t>(k))});

  double rr = 0;
  size_t first = n;
  for (size_t i = 0; i < n; ++i) {
    if (rel[i] >= 1) {
      rr = 1.0 / static_cast<double>(i + 1);
      first = i;
      break;
    }
  }
  out.push_back({"recip_rank", rr});
  for (int k : cutoffs) {
    out.push_back({"mrr_cut_" + std::to_string(k), first < static_cast<size_t>(k) ? rr : 0.0});
  }
  auto rel_in_top = [&](size_t k) {
    int64_t c = 0;
    for (size_t i = 0; i < std::min(k, n); ++i) c += rel[i] >= 1;
    return c;
  };
  for (int k : cutoffs) {
    out.push_back({"P_" + std::to_string(k), static_cast<double>(rel_in_top(k)) / k});
  }
  for (int k : cutoffs) {
    out.push_back(
        {"recall_" + std::to_string(k),
         num_rel ? static_cast<double>(rel_in_top(k)) / static_cast<double>(num_rel) : 0.0});
  }
  for (int k : cutoffs) {
    double dcg = 0, idcg = 0;
    for (size_t i = 0; i < std::min(static_cast<size_t>(k), n); ++i) {
      if (rel[i] > 0) dcg += rel[i] / std::log2(static_cast<double>(i + 2));
    }
    for (size_t i = 0; i < std::min(static_cast<size_t>(k), gains.size()); ++i) {
      idcg += gains[i] / std::log2(static_cast<double>(i + 2));
    }
    out.push_back({"ndcg_cut_" + std::to_string(k), idcg > 0 ? dcg / idcg : dcg});
  }
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
