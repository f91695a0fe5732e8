#include "rag/replug_generate.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/kernels.h"

namespace loom::rag {

ReplugEnsemble::ReplugEnsemble(const models::LanguageModel& model, ThreadPool& pool,
                               std::vector<ReplugDocument> docs, double tau,
                               std::span<const int32_t> prompt, int64_t max_new)
    : model_(model), pool_(pool) {
  if (prompt.empty()) throw Error("REPLUG generation: the prompt has no tokens");
  if (max_new < 1) throw Error("REPLUG generation: at least one new token must be asked for");
  const auto text = static_cast<int64_t>(prompt.size()) + max_new - 1;
  const int64_t room = model.context_length() - text;
  if (room < 0) {
    throw Error("REPLUG generation: prompt + new tokens (" + std::to_string(text + 1) +
                ") exceed the model's context of " + std::to_string(model.context_length()));
  }
  if (docs.empty()) docs.push_back({{}, 0.0});
  std::vector<double> scores;
  for (const ReplugDocument& d : docs) scores.push_back(d.score);
  for (double w : replug_weights(scores, tau)) log_w_.push_back(std::log(w));
  for (ReplugDocument& d : docs) {
    d.tokens.resize(std::min(d.tokens.size(), static_cast<size_t>(room)));
    d.tokens.insert(d.tokens.end(), prompt.begin(), prompt.end());
    const auto n = static_cast<int64_t>(d.tokens.size());
    sessions_.push_back(std::make_unique<models::Session>(model, n + max_new - 1));
    model.forward(*sessions_.back(), pool, d.tokens.data(), n);
  }
}

std::vector<double> ReplugEnsemble::next_logprobs() const {
  const int64_t V = model_.vocab_size();
  std::vector<double> out(static_cast<size_t>(V), 0.0);
  // out[y] = log Σ_d exp(log w_d + log p_d(y)), with the per-y maximum taken out first.
  std::vector<std::vector<double>> per_doc(sessions_.size(), std::vector<double>(out.size()));
  for (size_t d = 0; d < sessions_.size(); ++d) {
    const float* row = sessions_[d]->logits().data();
    const double shift = log_w_[d] - log_sum_exp(row, V);  // log w_d - log Σ exp(logits)
    for (int64_t y = 0; y < V; ++y) per_doc[d][static_cast<size_t>(y)] = shift + row[y];
  }
  for (size_t y = 0; y < out.size(); ++y) {
    double mx = -INFINITY, z = 0;
    for (const auto& lp : per_doc) mx = std::max(mx, lp[y]);
    for (const auto& lp : per_doc) z += std::exp(lp[y] - mx);
    out[y] = mx + std::log(z);
  }
  return out;
}

void ReplugEnsemble::push(int32_t token) {
  for (auto& s : sessions_) model_.forward(*s, pool_, &token, 1);
}

ReplugGeneration replug_generate(const models::LanguageModel& model,
                                 const generate::TokenCodec& codec, ThreadPool& pool,
                                 const DocRetriever& retriever, std::span<const int32_t> prompt,
                                 const ReplugGenerateOptions& o, const generate::SamplerConfig& sc,
                                 generate::SamplerKind kind) {
  if (o.k < 1 || o.query_tokens < 1) throw Error("REPLUG generation: k and ℓ must be >= 1");
  const size_t q = prompt.size() - std::min(prompt.size(), static_cast<size_t>(o.query_tokens));
  std::vector<ReplugDocument> docs =
      retriever.retrieve(prompt.subspan(q), static_cast<size_t>(o.k));
  ReplugGeneration g;
  g.documents = docs.size();
  g.stop_reason = "steps";
  ReplugEnsemble ens(model, pool, std::move(docs), o.tau, prompt, o.max_new_tokens);
  generate::Sampler sampler(sc);
  generate::Llama2cSampler l2c(sc.temperature, sc.top_p, sc.seed);
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  std::vector<float> logits;
  for (int64_t i = 0; i < o.max_new_tokens; ++i) {
    const std::vector<double> lp = ens.next_logprobs();
    logits.assign(lp.begin(), lp.end());
    const int32_t next = kind == generate::SamplerKind::Llama2c ? l2c.sample(logits)
                                                                : sampler.sample(logits, history);
    if (o.stop_at_eos && (next == codec.eos_id() || next == codec.bos_id())) {
      g.stop_reason = "eos";
      break;
    }
    g.text += codec.piece_text(history.back(), next);
    history.push_back(next);
    g.tokens.push_back(next);
    if (i + 1 < o.max_new_tokens) ens.push(next);
  }
  return g;
}

}  // namespace loom::rag
