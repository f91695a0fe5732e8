// REPLUG generation (Shi et al. 2023): the prompt's last ℓ tokens retrieve k documents once; each
// document + prompt runs in a Session of its own, and every step draws the next token from the
// ensembled distribution p(y) = Σ_d softmax(score / τ)_d p_LM(y | d, prompt, generated) through
// generate's samplers (greedy at temperature 0); the token is then fed to every session.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/threads.h"
#include "generate/generator.h"
#include "models/model.h"
#include "rag/doc_retriever.h"
#include "rag/replug.h"

namespace loom::rag {

// The per-document sessions of one generation. Documents are cut (first tokens kept) so that
// document + prompt + max_new - 1 tokens fit the model's context; no document: the LM alone.
class ReplugEnsemble {
 public:
  ReplugEnsemble(const models::LanguageModel& model, ThreadPool& pool,
                 std::vector<ReplugDocument> docs, double tau, std::span<const int32_t> prompt,
                 int64_t max_new);
  // log p(next token) for every token of the vocabulary (V), natural log.
  std::vector<double> next_logprobs() const;
  // Feeds a chosen token to every document's session.
  void push(int32_t token);
  size_t documents() const { return sessions_.size(); }

 private:
  const models::LanguageModel& model_;
  ThreadPool& pool_;
  std::vector<double> log_w_;  // log softmax(score / tau), per document
  std::vector<std::unique_ptr<models::Session>> sessions_;
};

struct ReplugGenerateOptions {
  int64_t max_new_tokens = 64;
  int64_t query_tokens = 32;  // ℓ
  int64_t k = 4;
  double tau = 1.0;
  bool stop_at_eos = true;  // EOS or BOS ends the text, as loom generate's
};

struct ReplugGeneration {
  std::vector<int32_t> tokens;  // generated, after the prompt
  std::string text;
  std::string stop_reason;  // "steps" or "eos"
  size_t documents = 0;     // documents the retriever returned
};

ReplugGeneration replug_generate(const models::LanguageModel& model,
                                 const generate::TokenCodec& codec, ThreadPool& pool,
                                 const DocRetriever& retriever, std::span<const int32_t> prompt,
                                 const ReplugGenerateOptions& options,
                                 const generate::SamplerConfig& sampler,
                                 generate::SamplerKind kind);

}  // namespace loom::rag
