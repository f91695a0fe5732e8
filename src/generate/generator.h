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
#include "generate/sampler.h"
#include "models/model.h"

namespace loom::generate {

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
  int beams = 1;                  // > 1: beam search (deterministic; sampler settings are ignored)
  float length_penalty = 1.0f;    // beam score = logprob / length^length_penalty
  // >= 0: record each generated token's log-probability under the model (log-softmax of the raw
  // logits, before penalties/temperature/filters) and the `logprobs` most likely alternatives.
  // -1: off. Sampling only (beam search ignores it).
  int logprobs = -1;
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

class Generator {
 public:
  Generator(const models::LanguageModel& model, const TokenCodec& codec, ThreadPool& pool)
      : model_(model), codec_(codec), pool_(pool) {}

  // Encodes the prompt (BOS first) and generates. on_text receives text as soon as it is safe
  // to show (stop strings are held back until they can be ruled out).
  GenerateResult generate(std::string_view prompt, const GenerateOptions& options,
                          const SamplerConfig& sampler, SamplerKind kind,
                          const std::function<void(std::string_view)>& on_text = {});
  GenerateResult generate_ids(std::vector<int32_t> prompt, const GenerateOptions& options,
                              const SamplerConfig& sampler, SamplerKind kind,
                              const std::function<void(std::string_view)>& on_text = {});

 private:
  GenerateResult beam_search(std::vector<int32_t> prompt, const GenerateOptions& options,
                             int64_t max_new, const std::function<void(std::string_view)>& on_text);
  const models::LanguageModel& model_;
  const TokenCodec& codec_;
  ThreadPool& pool_;
};

// Beam search on its own: the `beams` best continuations of `prompt` (at most max_new tokens,
// ending early at `eos`), best first, scored by log-probability / length^length_penalty.
struct Beam {
  std::vector<int32_t> tokens;
  double logprob = 0;
  double score = 0;
  bool finished = false;
};
std::vector<Beam> beam_search(const models::LanguageModel& model, ThreadPool& pool,
                              std::span<const int32_t> prompt, int beams, int64_t max_new,
                              std::span<const int32_t> end_ids, float length_penalty);

}  // namespace loom::generate
