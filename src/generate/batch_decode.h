// Batched decode: B independent sequences (their own prompts, lengths, KV caches, samplers and
// stop conditions) advanced together, one weight pass per step for all of them.
//
// Single-stream decode reads every weight once per token and is bound by memory bandwidth; a
// BatchDecoder step runs the current token of every live sequence as ONE forward
// (models::Model::forward_batch): the projections, the MLP and the LM head read each weight row
// once for all B rows, attention runs per sequence over its own cache at its own position.
//
// The interface continuous batching is built on: add() a sequence between any two steps, step()
// until it reports the sequence finished, remove() it (or remove a live one to cancel it). Each
// step emits exactly one token for every live sequence:
//   - every sequence prefilled in an earlier step feeds its last token through the batched
//     forward and samples the next;
//   - then each sequence added since the last step is prefilled (its prompt in chunks through
//     GEMM, via the PrefixCache when one is set) and its first token sampled from the prompt's
//     logits. A long prompt delays that step for everyone (no chunk interleaving yet).
// A sequence finishes when it samples one of its stop tokens (kept as its last token), reaches
// max_new_tokens, or fills the model's context; it then leaves the batch and frees its KV cache,
// and its tokens stay readable until remove().
//
// Exactness: a sequence's logits are bit for bit those of Model::forward one token at a time on
// a pool of the same size, whatever else is in the batch and whenever others join or leave, so
// its tokens are those it gets decoded alone with the same sampler settings and seed
// (tests/generate/batch_decode_test.cpp). Generator's default llama2.c sampler draws differently
// from generate::Sampler at temperature > 0; greedy is the same. Not thread-safe: one thread
// drives a decoder.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/threads.h"
#include "generate/prefix_cache.h"
#include "generate/sampler.h"
#include "models/model.h"

namespace loom::generate {

using SequenceId = int64_t;

struct SequenceRequest {
  std::vector<int32_t> prompt;       // token ids (BOS first if the model expects one); not empty
  SamplerConfig sampler;             // temperature <= 0: greedy
  int64_t max_new_tokens = 256;      // >= 1; the context may end the sequence sooner
  std::vector<int32_t> stop_tokens;  // sampling one of these ends the sequence (EOS, ...)
};

enum class FinishReason { None, Stop, Length, Context };
// "", "stop", "length", "context".
const char* finish_reason_name(FinishReason r);

// One token a step produced for one sequence.
struct StepToken {
  SequenceId id;
  int32_t token;
  FinishReason finish;  // None while the sequence goes on
};

struct BatchOptions {
  int64_t prefill_chunk = 512;          // prompt tokens per forward while prefilling
  PrefixCache* prefix_cache = nullptr;  // shared prompt prefixes (not owned); nullptr: none
};

class BatchDecoder {
 public:
  BatchDecoder(const models::Model& model, ThreadPool& pool, BatchOptions options = {});
  ~BatchDecoder();

  // Queues a sequence to join at the next step(). An empty prompt, an id outside the vocabulary,
  // a prompt that fills the context or max_new_tokens < 1 is a loom::Error naming the field.
  SequenceId add(SequenceRequest request);
  // Forgets a sequence, live (cancelled) or finished; an unknown id is a loom::Error.
  void remove(SequenceId id);
  // Advances every live sequence by one token (see above); the tokens in order of addition.
  std::vector<StepToken> step();

  // Sequences not finished (those waiting for their prefill included).
  int64_t live() const;
  // A sequence's prompt; its generated tokens so far; why it finished.
  std::span<const int32_t> prompt(SequenceId id) const;
  std::span<const int32_t> tokens(SequenceId id) const;
  FinishReason finish_reason(SequenceId id) const;

 private:
  struct Sequence;
  Sequence& at(SequenceId id) const;
  void validate(const SequenceRequest& r) const;
  StepToken sample(SequenceId id, Sequence& q, std::span<float> logits);
  void prefill_new(std::vector<StepToken>& out);
  void decode_live(std::vector<StepToken>& out);

  const models::Model& model_;
  ThreadPool& pool_;
  BatchOptions options_;
  SequenceId next_id_ = 0;
  std::map<SequenceId, std::unique_ptr<Sequence>> seqs_;  // by id: the order of addition
  std::vector<float> logits_;                             // (B, vocab) of the last step
};

}  // namespace loom::generate
