// Contrastive fine-tuning of a CausalLm into a text embedder: batches of (query, positive
// [, hard negative]) texts run through the model, their final hidden states pooled per sequence
// (nn/seq_pool.h, the definitions `loom embed` uses), and InfoNCE with in-batch negatives, a
// temperature, optional hard negatives, the symmetric direction and the Matryoshka sum over
// several leading dimensions (nn/contrastive.h). The optimiser step, clipping, the schedule and
// the checkpoint format are the LM trainer's (train/trainer.h).
//
// Reproducibility: step s draws its batch from Rng(seed, s) alone (B distinct pairs), so the same
// seed, data and thread count give the same loss curve, and a resumed run continues exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/threads.h"
#include "models/causal_lm.h"
#include "nn/contrastive.h"
#include "nn/optim.h"
#include "nn/seq_pool.h"
#include "nn/tape.h"
#include "train/trainer.h"

namespace loom::train {

// One training example as text. negative is empty when the line has none.
struct TextPair {
  std::string query, positive, negative;
};

struct PairsOptions {
  bool skip_bad = false;                       // false: a malformed line is a loom::Error
  std::vector<std::string>* issues = nullptr;  // receives "name:line: what" for skipped lines
};

// TSV: `query<TAB>positive[<TAB>hard_negative]` per line (a trailing '\r' dropped; blank lines
// skipped). JSONL: one object per line with string fields "query", "positive" and optionally
// "negative". A line with the wrong number of fields, an empty query or positive, invalid JSON or
// a missing / non-string field is malformed: an error naming name:line, or skipped with
// skip_bad. An input with no pair at all is an error.
std::vector<TextPair> parse_pairs_tsv(const std::string& text, const std::string& name,
                                      const PairsOptions& options = {});
std::vector<TextPair> parse_pairs_jsonl(const std::string& text, const std::string& name,
                                        const PairsOptions& options = {});
// Reads path: JSONL when it ends in .jsonl / .json or its first non-blank byte is '{', else TSV.
std::vector<TextPair> read_pairs(const std::string& path, const PairsOptions& options = {});

// One example as token ids (already truncated); n empty = no hard negative.
struct TokenPair {
  std::vector<int32_t> q, p, n;
};

struct ContrastiveConfig {
  int64_t batch = 16;  // pairs per step (each one's positive is a negative for the others)
  loom::Pooling pooling = loom::Pooling::Mean;
  nn::InfoNceOptions loss;                // temperature, symmetric
  std::vector<int64_t> matryoshka;        // leading dims to train; empty = the model's width only
  std::vector<float> matryoshka_weights;  // same length or empty (all 1)
  bool hard_negatives = true;             // use the examples' negatives when they have them
  Schedule schedule;
  AdamWConfig adamw;
  float clip = 1.0f;
  uint64_t seed = 1;
  Compute compute = Compute::F32;
};

class ContrastiveTrainer {
 public:
  // data stays owned by the caller and must outlive the trainer. Every sequence must be
  // non-empty, no longer than the model's max_seq, with ids < vocab_size; batch must not exceed
  // the number of examples. Errors are loom::Error naming the example.
  ContrastiveTrainer(CausalLm& model, const std::vector<TokenPair>& data, ContrastiveConfig cfg,
                     ThreadPool& pool);

  // One optimiser step over a batch; a non-finite loss or gradient throws before any change.
  StepStats step();
  int64_t steps_done() const { return opt_.steps(); }
  // The example indices step `step` (0-based) trains on.
  std::vector<int64_t> batch_indices(int64_t step) const;
  // The loss of the given examples with no gradient (e.g. a held-out set); at most `batch` each.
  float evaluate(const std::vector<TokenPair>& examples);

  // Pools each sequence of `seqs` (right-padded into one (n, T) batch) after the model: (n, C)
  // rows, on the tape. What the loss sees before normalisation.
  nn::Var embed(nn::Tape& t, const std::vector<const std::vector<int32_t>*>& seqs);

  // Zeroes the parameter gradients, then leaves there the gradient of the loss of examples idx
  // (one batch: each one's positive a negative for the others) and returns the loss. A
  // non-finite loss is returned with no backward pass.
  float compute_gradients(const std::vector<int64_t>& idx, const std::vector<TokenPair>& examples);

  nn::AdamW& optimizer() { return opt_; }
  void save_checkpoint(const std::string& path) const { save_train_checkpoint(model_, opt_, path); }
  void load_checkpoint(const std::string& path) { load_train_checkpoint(model_, opt_, path); }

 private:
  // Loss of examples idx on the tape.
  nn::Var loss(const std::vector<int64_t>& idx, const std::vector<TokenPair>& data);

  CausalLm& model_;
  const std::vector<TokenPair>& data_;
  ContrastiveConfig cfg_;
  ThreadPool& pool_;
  nn::AdamW opt_;
  nn::Tape tape_;
  std::vector<int32_t> ids_, lens_;
};

}  // namespace loom::train
