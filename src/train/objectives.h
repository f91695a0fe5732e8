// Pre-training objectives' data transforms as pure functions of token ids and a draw source:
// BERT's masked-LM dynamic masking (Hugging Face's DataCollatorForLanguageModeling and
// DataCollatorForWholeWordMask) and T5's span corruption (the T5 paper's rule as Hugging Face's
// run_t5_mlm_flax writes it: random_spans_noise_mask + sentinels) and BART's text infilling and
// sentence permutation (fairseq's DenoisingDataset). Every random choice comes
// from a Draws, in an order stated per function, so a test can replay the draws a reference
// implementation consumed (tests/reference/train/objectives_golden.py) and compare exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace loom::train {

// Labels at positions without a loss (PyTorch's cross-entropy ignore_index).
inline constexpr int32_t kIgnoreLabel = -100;

// The random draws a transform consumes. uniform(): [0, 1); below(n): an integer in [0, n), n > 0.
class Draws {
 public:
  virtual ~Draws() = default;
  virtual double uniform() = 0;
  virtual uint64_t below(uint64_t n) = 0;
};

// The production source: loom's seeded Rng, so a run is reproducible from its seed.
class RngDraws : public Draws {
 public:
  explicit RngDraws(Rng& rng) : rng_(rng) {}
  double uniform() override { return rng_.uniform_double(); }
  uint64_t below(uint64_t n) override { return rng_.below(n); }

 private:
  Rng& rng_;
};

struct MlmConfig {
  int64_t vocab_size = 0;            // random replacements are drawn from [0, vocab_size)
  int32_t mask_id = -1;              // [MASK] / <mask>
  std::vector<int32_t> special_ids;  // never chosen ([CLS], [SEP], [PAD], ...)
  double probability = 0.15;         // per token, or the share of tokens for whole-word masking
  double mask_fraction = 0.8;        // of the chosen: replaced by mask_id
  double random_fraction = 0.5;      // of the chosen not masked: a random token (0.5 -> 10 %)
  int64_t max_predictions = 512;     // whole-word masking's cap on chosen tokens (HF's default)
};

// One example's model inputs and labels: labels[i] = the original id where position i carries a
// loss, kIgnoreLabel elsewhere. For MLM both have the input's length.
struct MaskedExample {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> labels;
};

// Token-level dynamic masking. Draws, in order: n uniforms (chosen when < probability and not
// special), n uniforms (masked when < mask_fraction), n uniforms (random when < random_fraction),
// then below(vocab_size) for each random position, left to right. n = ids.size().
MaskedExample mlm_mask(const std::vector<int32_t>& ids, const MlmConfig& cfg, Draws& draws);

// Whole-word masking. word_start[i] != 0 where token i begins a word (a continuation piece,
// "##x" in WordPiece, has 0). Words are the runs of non-special tokens (a continuation joins the
// last word seen, as HF does); they are shuffled (Fisher-Yates from the back: below(i + 1) for
// i = words-1 .. 1) and taken whole while the chosen stay within
// min(max_predictions, max(1, round(n * probability))) tokens. Then the 80/10/10 rule as in
// mlm_mask: n uniforms for masking, n for random, below(vocab_size) per random position.
MaskedExample mlm_mask_whole_word(const std::vector<int32_t>& ids,
                                  const std::vector<uint8_t>& word_start, const MlmConfig& cfg,
                                  Draws& draws);

// T5 span corruption.
struct SpanCorruptionConfig {
  double noise_density = 0.15;
  double mean_span_length = 3.0;
  std::vector<int32_t> sentinel_ids;  // sentinel k (<extra_id_k>) is sentinel_ids[k]
  int32_t eos_id = -1;                // appended to inputs and targets, as HF's collator does
};

// T5's sentinel ids: <extra_id_k> = vocab_size - 1 - k (the extra ids sit at the vocabulary's top).
std::vector<int32_t> t5_sentinel_ids(int64_t vocab_size, int count);

// The noise mask (1 = noise) of random_spans_noise_mask for a sequence of length n >= 2. Draws:
// a Fisher-Yates shuffle (below(i + 1), i from the back) of the noise tokens' segment-start
// flags, then the same for the non-noise tokens.
std::vector<uint8_t> t5_noise_mask(int64_t n, double noise_density, double mean_span_length,
                                   Draws& draws);

struct SpanCorrupted {
  std::vector<int32_t> input_ids;  // non-noise tokens, each noise span as one sentinel, then eos
  std::vector<int32_t> labels;     // per noise span: its sentinel and its tokens; then eos
};

SpanCorrupted t5_span_corrupt(const std::vector<int32_t>& ids, const SpanCorruptionConfig& cfg,
                              Draws& draws);

// A permutation of 0..n-1: Fisher-Yates from the back (below(i + 1) for i = n-1 .. 1).
std::vector<int64_t> random_permutation(int64_t n, Draws& draws);

// BART's noising (fairseq's DenoisingDataset with BART's settings: replace_length 1, Poisson
// span lengths, no rotation). ids start with <s> and end with </s>; the target is ids itself.
struct BartNoiseConfig {
  int64_t vocab_size = 0;       // random replacements are drawn from [1, vocab_size)
  int32_t mask_id = -1;         // <mask>
  double mask_ratio = 0.3;      // share of word starts that begin a masked span
  double random_ratio = 0.1;    // of the spans / inserts: a random token instead of <mask>
  double poisson_lambda = 3.0;  // span lengths ~ Poisson(lambda), truncated where p < 1e-7
};

// Text infilling. word_start[i] != 0 where token i begins a word (the first and last tokens
// never do). Draws, in order: Poisson span lengths (one uniform each, by the inverse CDF) in
// batches of num_to_mask = ceil(word starts * mask_ratio) until they sum to num_to_mask; a
// random_permutation of the word starts (the first spans' worth taken); one uniform per span
// (random when < random_ratio); below(vocab_size - 1) + 1 per random span, in span order. Each
// span becomes one token (<mask> or random), the rest of its words are deleted; zero-length spans
// become inserted tokens (bart_insert_noise, its draws after the above).
std::vector<int32_t> bart_text_infill(const std::vector<int32_t>& ids,
                                      const std::vector<uint8_t>& word_start,
                                      const BartNoiseConfig& cfg, Draws& draws);

// Inserts ceil(n * p) tokens at random places between <s> and </s>: a random_permutation of
// n + inserts - 2 slots (the first `inserts` taken, shifted by one), the first ceil(inserts *
// random_ratio) of them random ids (below(vocab_size - 1) + 1 each), the others <mask>.
std::vector<int32_t> bart_insert_noise(const std::vector<int32_t>& ids, double p,
                                       const BartNoiseConfig& cfg, Draws& draws);

// Sentence permutation: sentences end at a run of full_stop_id (the text before </s> counts as
// one); ceil(sentences * ratio) of them, chosen by a random_permutation, are reordered by a
// second random_permutation. <s> and </s> stay in place.
std::vector<int32_t> bart_permute_sentences(const std::vector<int32_t>& ids, int32_t full_stop_id,
                                            double ratio, Draws& draws);

}  // namespace loom::train
