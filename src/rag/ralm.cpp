#include "rag/ralm.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace loom::rag {

namespace {

// The options with their defaults filled in, checked against the model.
RalmOptions resolved(const models::LanguageModel& model, RalmOptions o) {
  const int64_t ctx = model.context_length();
  if (o.window == 0) o.window = ctx;
  if (o.window < 2 || o.window > ctx) {
    throw Error("RALM: the window must be in [2, " + std::to_string(ctx) +
                "] (the model's context), got " + std::to_string(o.window));
  }
  if (o.stride < 1) throw Error("RALM: the stride must be >= 1, got " + std::to_string(o.stride));
  if (o.context == 0) o.context = o.window / 2;
  if (o.context <= o.stride || o.context > o.window) {
    throw Error("RALM: the context must be in (stride, window] = (" + std::to_string(o.stride) +
                ", " + std::to_string(o.window) + "], got " + std::to_string(o.context));
  }
  if (o.query_tokens < 1) throw Error("RALM: the query length must be >= 1");
  if (o.k < 1) throw Error("RALM: k must be >= 1, got " + std::to_string(o.k));
  if (!(o.tau > 0)) throw Error("RALM: tau must be > 0");
  return o;
}

// Log-probabilities of tokens[t0, e) from documents (cut to fit) + tokens[b, t0); no document:
// the LM alone (REPLUG with one empty document of weight 1).
std::vector<double> score_stride(const models::LanguageModel& model, ThreadPool& pool,
                                 std::span<const int32_t> tokens, int64_t b, int64_t t0, int64_t e,
                                 std::vector<ReplugDocument> docs, const RalmOptions& o) {
  if (docs.empty()) docs.push_back({{}, 0.0});
  const auto room = static_cast<size_t>(o.window - (e - 1 - b));
  for (ReplugDocument& d : docs)
    if (d.tokens.size() > room) d.tokens.resize(room);
  return replug_logprobs(model, pool, docs, o.tau, tokens.subspan(b, t0 - b),
                         tokens.subspan(t0, e - t0));
}

}  // namespace

double RalmScores::perplexity() const {
  double nll = 0;
  for (double lp : logprob) nll -= lp;
  return logprob.empty() ? 0 : std::exp(nll / static_cast<double>(logprob.size()));
}

RalmScores score_with_retrieval(const models::LanguageModel& model, ThreadPool& pool,
                                std::span<const int32_t> tokens, const DocRetriever* retriever,
                                const RalmOptions& options) {
  const RalmOptions o = resolved(model, options);
  const auto n = static_cast<int64_t>(tokens.size());
  if (n < 2) throw Error("RALM: the text needs at least 2 tokens, got " + std::to_string(n));
  RalmScores r;
  for (int64_t t0 = 1; t0 < n;) {
    const int64_t grid_end = (t0 / o.stride + 1) * o.stride;  // the last stride may stop short
    const int64_t e = std::min(n, grid_end);
    const int64_t b = std::max<int64_t>(0, grid_end - o.context);
    std::vector<ReplugDocument> docs;
    if (retriever != nullptr) {
      const int64_t q = std::max<int64_t>(0, t0 - o.query_tokens);
      docs = retriever->retrieve(tokens.subspan(q, t0 - q), static_cast<size_t>(o.k));
      ++r.strides;
      if (!docs.empty()) ++r.augmented;
    }
    const std::vector<double> lp = score_stride(model, pool, tokens, b, t0, e, std::move(docs), o);
    r.logprob.insert(r.logprob.end(), lp.begin(), lp.end());
    t0 = e;
  }
  return r;
}

}  // namespace loom::rag
