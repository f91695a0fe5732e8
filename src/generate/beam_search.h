// Beam search with Hugging Face's semantics (transformers' BeamSearchScorer, as of 4.36–4.44),
// for any model that can fork and advance per-beam states: decoder-only LMs (a Session per beam)
// and encoder–decoders (the decoder's caches per beam) alike.
//
// Per step: log-softmax of each live beam's logits; min_new_tokens and no_repeat_ngram_size set
// tokens to -inf; the 2·num_beams best (beam score + log-prob) over all beams, best first. An EOS
// candidate ranked within the first num_beams becomes a finished hypothesis scored
// sum_logprobs / generated_len^length_penalty (generated_len counts the EOS); the first num_beams
// other candidates continue. The finished list keeps the num_beams best and decides when to stop
// (EarlyStopping). At max_new_tokens the live beams join the list; the best come back.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/threads.h"
#include "models/model.h"

namespace loom::generate {

// transformers' early_stopping: True (Early), False (Heuristic), "never" (Never).
enum class EarlyStopping { Heuristic, Early, Never };
// "true" | "false" | "never" -> EarlyStopping; anything else is a loom::Error naming it.
EarlyStopping parse_early_stopping(const std::string& s);

struct BeamSearchOptions {
  int num_beams = 4;
  int64_t max_new_tokens = 20;  // tokens generated, the EOS included
  float length_penalty = 1.0f;  // score = sum of log-probs / generated_len^length_penalty
  EarlyStopping early_stopping = EarlyStopping::Heuristic;
  int no_repeat_ngram_size = 0;  // 0: off; n-grams of the whole sequence, prompt included
  int64_t min_new_tokens = 0;    // EOS is forbidden before this many new tokens
  int num_return_sequences = 1;  // <= num_beams
};

struct Hypothesis {
  std::vector<int32_t> tokens;  // generated tokens; a finished one ends with its EOS
  double sum_logprobs = 0;
  double score = 0;  // sum_logprobs / generated_len^length_penalty
  bool finished = false;
};

// The model side: one state per live beam; the search starts with a single beam (the prompt
// processed) and replaces the whole set each step.
class BeamStepper {
 public:
  virtual ~BeamStepper() = default;
  virtual int64_t vocab_size() const = 0;
  // Next-token logits of live beam b (vocab_size values).
  virtual std::span<const float> logits(int b) const = 0;
  // The new live set: beam i is old beam parents[i] followed by tokens[i]; computes its logits.
  virtual void advance(std::span<const int> parents, std::span<const int32_t> tokens) = 0;
};

// prompt: the sequence the first logits follow (decoder-only: the prompt; encoder–decoder: the
// decoder's start token); its length is transformers' decoder_prompt_len and the
// no_repeat_ngram_size history starts with it. Returns num_return_sequences hypotheses, best
// first. Bad options (num_beams < 1, more returns than beams, eos_ids empty...) are a loom::Error.
std::vector<Hypothesis> beam_search(BeamStepper& model, std::span<const int32_t> prompt,
                                    std::span<const int32_t> eos_ids,
                                    const BeamSearchOptions& options);

// The same over a decoder-only model: the prompt runs once, then one Session (KV cache) per beam.
// The prompt plus max_new_tokens - 1 must fit the model's context.
std::vector<Hypothesis> beam_search(const models::LanguageModel& model, ThreadPool& pool,
                                    std::span<const int32_t> prompt,
                                    std::span<const int32_t> eos_ids,
                                    const BeamSearchOptions& options);

// Encoder-decoders (T5, BART): the source is encoded once, and every beam decodes from the model's
// decoder start token (transformers' decoder_prompt_len of 1), sharing the source's memory.
std::vector<Hypothesis> seq2seq_beam_search(const models::LanguageModel& model, ThreadPool& pool,
                                            std::span<const int32_t> source,
                                            std::span<const int32_t> eos_ids,
                                            const BeamSearchOptions& options);

}  // namespace loom::generate
