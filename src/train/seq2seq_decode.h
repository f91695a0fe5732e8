// Beam search over models::Seq2Seq: the model's step-by-step Search (one source encoded once, a
// decoder state per live beam) driven by generate::beam_search, Hugging Face's semantics (scores
// sum_logprobs / generated_len^length_penalty, the EOS counted; EarlyStopping; see
// generate/beam_search.h). It lives in train, the first module that sees both nn (the model's
// tape) and generate (the search).
#pragma once

#include <cstdint>
#include <vector>

#include "core/threads.h"
#include "generate/beam_search.h"
#include "models/seq2seq.h"

namespace loom::train {

// src (src_len) one source -> options.num_return_sequences hypotheses, best first, each with its
// tokens (EOS stripped, `finished` set instead), score, sum of log-probabilities and the attention
// weights of its steps (the EOS step included when finished).
std::vector<models::Seq2SeqOutput> seq2seq_beam_search(models::Seq2Seq& model, ThreadPool& pool,
                                                       const int32_t* src, int64_t src_len,
                                                       int32_t bos, int32_t eos,
                                                       const generate::BeamSearchOptions& options);

}  // namespace loom::train
