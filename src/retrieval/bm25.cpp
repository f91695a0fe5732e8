#include "retrieval/bm25.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "core/error.h"

namespace loom::retrieval {

std::string bm25_settings_text(const Bm25Params& p) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "k1=%g b=%g stopwords=%s stem=%s", p.k1, p.b,
                p.analyzer.stopwords ? "yes" : "no", p.analyzer.stem ? "yes" : "no");
  return buf;
}

Bm25Index::Bm25Index(const std::vector<Document>& corpus, Bm25Params params) : p_(params) {
  if (!(p_.k1 >= 0) || !(p_.b >= 0 && p_.b <= 1)) throw Error("bm25: need k1 >= 0 and 0 <= b <= 1");
  doc_ids_.reserve(corpus.size());
  doc_len_.reserve(corpus.size());
  double total = 0;
  std::unordered_map<std::string, uint32_t> tf;
  for (uint32_t d = 0; d < corpus.size(); ++d) {
    const Document& doc = corpus[d];
    auto tokens = analyze(doc.title.empty() ? doc.text : doc.title + " " + doc.text, p_.analyzer);
    tf.clear();
    for (auto& t : tokens) ++tf[t];
    for (auto& [term, count] : tf) postings_[term].push_back({d, count});
    doc_ids_.push_back(doc.id);
    doc_len_.push_back(static_cast<uint32_t>(tokens.size()));
    total += static_cast<double>(tokens.size());
  }
  avgdl_ = corpus.empty() ? 0 : total / static_cast<double>(corpus.size());
}

std::vector<ScoredDoc> Bm25Index::search(const std::string& query, size_t k) const {
  return search(query, k, {});
}

std::vector<ScoredDoc> Bm25Index::search(const std::string& query, size_t k,
                                         const std::function<bool(uint32_t)>& accept) const {
  const double n = static_cast<double>(doc_ids_.size());
  std::vector<double> acc(doc_ids_.size(), 0.0);
  std::vector<uint8_t> hit(doc_ids_.size(), 0);
  for (const std::string& t : analyze(query, p_.analyzer)) {
    auto it = postings_.find(t);
    if (it == postings_.end()) continue;
    const double df = static_cast<double>(it->second.size());
    const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    for (const Posting& p : it->second) {
      double tf = p.tf;
      double norm = p_.k1 * (1.0 - p_.b + p_.b * doc_len_[p.doc] / avgdl_);
      acc[p.doc] += idf * tf * (p_.k1 + 1.0) / (tf + norm);
      hit[p.doc] = 1;
    }
  }
  std::vector<uint32_t> docs;
  for (uint32_t d = 0; d < acc.size(); ++d)
    if (hit[d] && (!accept || accept(d))) docs.push_back(d);
  auto better = [&](uint32_t a, uint32_t b) {
    float sa = static_cast<float>(acc[a]), sb = static_cast<float>(acc[b]);
    if (sa != sb) return sa > sb;
    return std::strcmp(doc_ids_[a].c_str(), doc_ids_[b].c_str()) > 0;
  };
  size_t keep = std::min(k, docs.size());
  std::partial_sort(docs.begin(), docs.begin() + static_cast<ptrdiff_t>(keep), docs.end(), better);
  std::vector<ScoredDoc> out;
  out.reserve(keep);
  for (size_t i = 0; i < keep; ++i) out.push_back({doc_ids_[docs[i]], acc[docs[i]]});
  return out;
}

TrecRun Bm25Index::search_all(const std::vector<Query>& queries, size_t k, ThreadPool* pool) const {
  std::vector<std::vector<ScoredDoc>> results(queries.size());
  auto one = [&](int64_t i) { results[i] = search(queries[i].text, k); };
  if (pool != nullptr && pool->size() > 1) {
    pool->run(static_cast<int64_t>(queries.size()), one);
  } else {
    for (size_t i = 0; i < queries.size(); ++i) one(static_cast<int64_t>(i));
  }
  TrecRun run;
  for (size_t i = 0; i < queries.size(); ++i) {
    if (!results[i].empty()) run[queries[i].id] = std::move(results[i]);
  }
  return run;
}

}  // namespace loom::retrieval
