// Text generation over a LanguageModel: prompt processing in one batched pass, then one decode step
// per token with a sampler (or beam search), stop conditions and streaming.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/threads.h"
#include "generate/beam_search.h"
#include "generate/sampler.h"
#include "models/model.h"

namespace loom::generate {

class TokenConstraint;
struct TokenLogprobs;

// What generation needs from a tokenizer (codec.h builds one from a SentencePiece file or a
// GGUF's embedded vocabulary).
class TokenCodec {
 public:
  virtual ~TokenCodec() = default;
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
  // Bytes to print for `token` following `prev`, as llama2.c prints them: the piece with spaces
  // restored, byte pieces as their byte, and no leading space right after BOS.
  virtual std::string piece_text(int32_t prev, int32_t token) const = 0;
  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
  virtual int32_t vocab_size() const = 0;
};

struct GenerateOptions {
  // Forward steps as llama2.c's -n counts them: positions including the prompt (BOS included);
  // the number of new tokens is steps - prompt_tokens + 1. 0: up to the context length.
  int64_t steps = 256;
  int64_t max_new_tokens = -1;    // a further limit; -1: none
  std::vector<std::string> stop;  // stop strings (output ends right before the first one)
  bool stop_at_eos = true;        // EOS, or BOS (llama2.c: a new BOS starts another text), ends it
  // Beam search (generate/beam_search.h, Hugging Face's semantics) when beams > 1; the sampler
  // settings are then ignored.
  int beams = 1;
  float length_penalty = 1.0f;  // score = sum of log-probs / generated_len^length_penalty
  EarlyStopping early_stopping = EarlyStopping::Heuristic;
  int no_repeat_ngram_size = 0;
  int64_t min_new_tokens = 0;
  // >= 0: record each generated token's log-probability under the model (log-softmax of the raw
  // logits, before penalties/temperature/filters) and the `logprobs` most likely alternatives.
  // -1: off. Sampling only (beam search ignores it).
  int logprobs = -1;
  // Constrained decoding (constraint.h; not owned, advanced as tokens are chosen): tokens it
  // refuses are masked to -inf before sampling, and the text ends (stop_reason "eos") once it is
  // finished. Sampling only (beams = 1).
  TokenConstraint* constraint = nullptr;
  // Called with each generated token (and its log-probabilities when recorded) before its text
  // is released to on_text.
  std::function<void(int32_t token, const TokenLogprobs* logprobs)> on_token;
};

enum class SamplerKind { Standard, Llama2c };

// `loom generate --sampler auto`'s choice, for every front end: llama2.c's sampler (so seeded
// runs reproduce run.c) unless an option it lacks (top-k, min-p, a penalty) is set.
SamplerKind auto_sampler_kind(const SamplerConfig& config);

// One generated token's log-probability and the most likely alternatives at its position
// (natural log, most likely first; ties: lower id first).
struct TokenLogprobs {
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;
};

struct GenerateResult {
  std::vector<int32_t> prompt;
  std::vector<int32_t> tokens;          // generated ids (after the prompt)
  std::string text;                     // generated text (stop string cut)
  std::string stop_reason;              // "steps", "eos", "stop", "context"
  std::vector<TokenLogprobs> logprobs;  // one per token in `tokens` when options.logprobs >= 0
  double prompt_seconds = 0, decode_seconds = 0;
};

// Log-probabilities of prompt[1..] (each given the tokens before it) with the k most likely
// alternatives, from one batched forward pass: prompt.size() - 1 entries. Decoder-only models.
std::vector<TokenLogprobs> prompt_logprobs(const models::LanguageModel& model, ThreadPool& pool,
                                           std::span<const int32_t> prompt, int k);

class Generator {
 public:
  Generator(const models::LanguageModel& model, const TokenCodec& codec, ThreadPool& pool)
      : model_(model), codec_(codec), pool_(pool) {}

  // Encodes the prompt (BOS first) and generates. Encoder-decoders (T5, BART) take the prompt as
  // their source and generate from their decoder start token. on_text receives text as soon as it
  // is safe to show (stop strings are held back until they can be ruled out).
  GenerateResult generate(std::string_view prompt, const GenerateOptions& options,
                          const SamplerConfig& sampler, SamplerKind kind,
                          const std::function<void(std::string_view)>& on_text = {});
  GenerateResult generate_ids(std::vector<int32_t> prompt, const GenerateOptions& options,
                              const SamplerConfig& sampler, SamplerKind kind,
                              const std::function<void(std::string_view)>& on_text = {});

 private:
  // The tokens the first logits follow: the prompt, or an encoder-decoder's start token.
  std::vector<int32_t> decoder_prompt(const std::vector<int32_t>& prompt) const;
  GenerateResult beam_search(std::vector<int32_t> prompt, const GenerateOptions& options,
                             int64_t max_new, const std::function<void(std::string_view)>& on_text);
  const models::LanguageModel& model_;
  const TokenCodec& codec_;
  ThreadPool& pool_;
};

}  // namespace loom::generate
