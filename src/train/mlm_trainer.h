// Masked-LM pre-training of an encoder (BERT, RoBERTa) on token sequences, through the MLM head
// (CausalLm::head: transform, LayerNorm, the tied decoder and its bias). Dynamic masking: every
// step draws its examples' masks afresh with train/objectives.h's mlm_mask (or whole-word
// masking) from an Rng seeded by (seed, step, micro-batch), so a resumed run masks exactly as an
// uninterrupted one and no two steps share a mask. The loss is the mean cross-entropy over the
// chosen positions; the head runs only on those rows (the head is row-wise, so this equals
// BertForMaskedLM's loss at about 1/7 of its cost with a 30k vocabulary).
#pragma once

#include <cstdint>
#include <vector>

#include "models/causal_lm.h"
#include "nn/optim.h"
#include "nn/tape.h"
#include "train/objectives.h"
#include "train/trainer.h"

namespace loom::train {

// Sequences for MLM: token ids with the special tokens already in place; word_start per token
// (1 where a word begins) when whole-word masking is wanted, else empty.
struct MlmSequence {
  std::vector<int32_t> ids;
  std::vector<uint8_t> word_start;
};

// The encoder-decoder objectives run through the same trainer: T5's span corruption (the encoder
// reads the sequence with one sentinel per noise span, the decoder predicts the spans behind their
// sentinels) and BART's denoising (sentence permutation, then text infilling; the decoder predicts
// the original). Both draw their noise per step as MLM does; the loss is
// CausalLm::seq2seq_loss's mean cross-entropy over the target tokens, the decoder fed the targets
// shifted right behind decoder_start_token_id. An encoder input longer than the trainer's seq
// keeps its first seq - 1 tokens and its last.
enum class Objective { Mlm, Span, Denoise };

struct Seq2seqNoise {
  Objective objective = Objective::Mlm;
  SpanCorruptionConfig span;         // Span: sentinel ids and eos
  BartNoiseConfig bart;              // Denoise: <mask>, vocabulary, ratios
  int32_t full_stop_id = -1;         // Denoise: sentence end (-1: no permutation)
  double permute_ratio = 1.0;        // Denoise: share of sentences permuted
  std::vector<uint8_t> begins_word;  // Denoise: per token id, 1 where it can begin a word
};

struct MlmStats {
  float loss = 0;
  // Over the step's sequences: tokens that may be chosen (not special), chosen, and of the
  // chosen those replaced by [MASK], by a random id, or kept.
  int64_t maskable = 0, chosen = 0, masked = 0, randomised = 0, kept = 0;
};

class MlmTrainer {
 public:
  // seqs stay owned by the caller; each fits cfg.seq. mlm names the vocabulary, [MASK] and the
  // special ids; whole_word uses each sequence's word_start.
  MlmTrainer(models::CausalLm& model, const std::vector<MlmSequence>& seqs, MlmConfig mlm,
             bool whole_word, TrainConfig cfg, ThreadPool& pool, Seq2seqNoise noise = {});
  StepStats step(MlmStats* stats = nullptr);
  int64_t steps_done() const { return opt_.steps(); }
  nn::AdamW& optimizer() { return opt_; }
  // Mean MLM loss over `seqs` with masks drawn from `seed` (the same masks on every call).
  float evaluate(const std::vector<MlmSequence>& seqs, uint64_t seed);
  // Masks examples[pick] with `draws` and returns the loss, its gradients added (scaled by
  // `scale`) when backward is true.
  float run_batch(const std::vector<MlmSequence>& seqs, const std::vector<int64_t>& pick,
                  Draws& draws, nn::Tape& t, float scale, bool backward, MlmStats* stats);

 private:
  float run_seq2seq_batch(const std::vector<MlmSequence>& seqs, const std::vector<int64_t>& pick,
                          Draws& draws, nn::Tape& t, float scale, bool backward, MlmStats* stats);
  // One sequence's encoder input and decoder target under noise_.
  void corrupt(const std::vector<int32_t>& ids, Draws& draws, std::vector<int32_t>& input,
               std::vector<int32_t>& target) const;

  models::CausalLm& model_;
  const std::vector<MlmSequence>& seqs_;
  MlmConfig mlm_;
  bool whole_word_;
  Seq2seqNoise noise_;
  TrainConfig cfg_;
  ThreadPool& pool_;
  nn::AdamW opt_;
  nn::Tape tape_;
  std::vector<int64_t> order_;
  // The batch on the tape: live until backward.
  std::vector<int32_t> ids_, rows_, labels_, dec_ids_;
  std::vector<uint8_t> mask_, dec_mask_;
};

}  // namespace loom::train
