// The adaptation report (issue #6): for a base model and its adapted (extended, trained) version,
//   - sha256 of the original embedding rows [0, V0) (and of an untied head's) in both: equal when
//     the original rows were kept bit for bit,
//   - mean tokens per word of held-out domain text under each tokenizer,
//   - bits per byte of held-out domain text and of general text under each model: the sum of the
//     next-token negative log-likelihoods in bits divided by the text's UTF-8 bytes, so models
//     with different tokenizers compare fairly.
// Text convention: one document per line ("\n"; a trailing "\r" is kept); each document is
// encoded alone with BOS in front; every token after BOS is scored (a document longer than the
// context is cut into windows that overlap by one token, each run from an empty cache); the
// bytes counted are the line's bytes without the "\n". Words are runs of non-whitespace bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapt/grow.h"
#include "core/threads.h"
#include "models/model.h"
#include "text/tokenizer.h"

namespace loom::adapt {

struct TextScore {
  int64_t docs = 0, bytes = 0, words = 0, tokens = 0;  // tokens: without BOS
  double nll_bits = 0;                                 // sum over scored tokens
  double bits_per_byte() const { return bytes ? nll_bits / static_cast<double>(bytes) : 0; }
  double tokens_per_word() const {
    return words ? static_cast<double>(tokens) / static_cast<double>(words) : 0;
  }
};

// Scores the documents (lines) with the model; the tokenizer must match its vocabulary.
TextScore score_text(const models::Model& model, const text::Tokenizer& tok,
                     const std::vector<std::string>& docs, ThreadPool& pool);

// How far an extended model's next-token distribution moved from its base model's, before any
// training (Hewitt 2021, "Initializing new word embeddings for pretrained language models": a good
// initialisation keeps KL(p_base || p_extended) small on ordinary text). The documents are encoded
// with the base tokenizer, so both models see the same contexts and only the new rows of the
// output (tied or untied) can move the distribution: KL = sum over the base vocabulary of
// p_base(i) (log p_base(i) - log p_extended(i)), p_extended normalised over the grown vocabulary.
// Same documents, windows and scored positions as score_text.
struct Drift {
  int64_t positions = 0;
  double kl_sum = 0, kl_max = 0;  // nats
  double mean_kl() const { return positions ? kl_sum / static_cast<double>(positions) : 0; }
};
Drift next_token_drift(const models::LanguageModel& base, const models::LanguageModel& extended,
                       const text::Tokenizer& base_tok, const std::vector<std::string>& docs,
                       ThreadPool& pool);

// Drift of each initialisation: the base model extended with `terms` by each of `inits` (in
// memory; a fresh tokenizer from make_tokenizer each time, matching the base vocabulary), its
// drift on the general and on the domain documents.
struct InitDrift {
  GrowOptions init;
  Drift general, domain;
};
std::vector<InitDrift> drift_by_init(
    const models::Model& base,
    const std::function<std::unique_ptr<text::Tokenizer>()>& make_tokenizer,
    const std::vector<std::string>& terms, const std::vector<GrowOptions>& inits,
    const std::vector<std::string>& general, const std::vector<std::string>& domain,
    ThreadPool& pool);

// SHA-256 of rows [0, rows) of the token embedding and of the untied head ("" when tied) as the
// checkpoint stores them (GGUF / llama2.c / Hugging Face names; f32 bytes).
struct RowDigests {
  std::string embed, head;
};
RowDigests original_row_digests(const models::Model& model, int64_t rows);

// Lines of a text file ("\n"-separated, no empty piece after a final "\n"); at most max_lines
// (0 = all).
std::vector<std::string> read_lines(const std::string& path, int64_t max_lines = 0);

}  // namespace loom::adapt
