#include "rag/replug.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "rag/token_logprob.h"

namespace loom::rag {

std::vector<double> replug_weights(std::span<const double> scores, double tau) {
  if (scores.empty()) throw Error("REPLUG: no documents");
  if (!(tau > 0)) throw Error("REPLUG: the temperature must be > 0");
  const double mx = *std::max_element(scores.begin(), scores.end()) / tau;
  std::vector<double> w(scores.size());
  double z = 0;
  for (size_t i = 0; i < w.size(); ++i) z += w[i] = std::exp(scores[i] / tau - mx);
  for (double& v : w) v /= z;
  return w;
}

std::vector<double> replug_logprobs(const models::LanguageModel& model, ThreadPool& pool,
                                    std::span<const ReplugDocument> docs, double tau,
                                    std::span<const int32_t> context,
                                    std::span<const int32_t> continuation) {
  std::vector<double> scores;
  for (const ReplugDocument& d : docs) scores.push_back(d.score);
  const std::vector<double> w = replug_weights(scores, tau);
  if (continuation.empty()) return {};
  const int64_t V = model.vocab_size();
  const auto T = static_cast<int64_t>(continuation.size());
  // per_doc[d][t] = log w_d + log p(continuation[t] | d, context, continuation[<t])
  std::vector<std::vector<double>> per_doc;
  for (size_t d = 0; d < docs.size(); ++d) {
    std::vector<int32_t> seq(docs[d].tokens);
    seq.insert(seq.end(), context.begin(), context.end());
    const auto prefix = static_cast<int64_t>(seq.size());
    if (prefix == 0) throw Error("REPLUG: document and context are both empty");
    seq.insert(seq.end(), continuation.begin(), continuation.end());
    const auto n = static_cast<int64_t>(seq.size()) - 1;  // the last token is never an input
    models::Session s(model, n, n);
    model.forward(s, pool, seq.data(), n, /*all_logits=*/true);
    std::vector<double> lp(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      const float* row = s.logits().data() + (prefix - 1 + t) * V;
      lp[static_cast<size_t>(t)] = std::log(w[d]) + token_logprob(row, V, continuation[t]);
    }
    per_doc.push_back(std::move(lp));
  }
  std::vector<double> out(static_cast<size_t>(T));
  for (size_t t = 0; t < out.size(); ++t) {
    double mx = -INFINITY;
    for (const auto& lp : per_doc) mx = std::max(mx, lp[t]);
    double z = 0;
    for (const auto& lp : per_doc) z += std::exp(lp[t] - mx);
    out[t] = mx + std::log(z);
  }
  return out;
}

}  // namespace loom::rag
