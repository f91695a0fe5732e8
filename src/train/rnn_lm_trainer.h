// Word-level recurrent LM training (models/rnn_lm.h) with truncated backpropagation through time:
// the corpus is cut into B parallel streams (B columns of a (n/B, B) time-major matrix); each
// step reads the next bptt tokens of every stream and predicts the token after each, the state
// carrying over (detached) from the previous step. AdamW with the shared schedule, global
// gradient-norm clipping and the non-finite stop come from train/trainer.h's finish_step.
//
// This is a separate loop from CausalLmTrainer: that one samples random windows of a decoder's
// context, this one walks the corpus in order so the carried state stays meaningful.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/threads.h"
#include "models/rnn_lm.h"
#include "nn/optim.h"
#include "nn/tape.h"
#include "train/trainer.h"

namespace loom::train {

// A word vocabulary in order of first appearance: words are separated by whitespace and every
// line ends with "<eos>" (the Penn Treebank language-modelling convention).
class WordVocab {
 public:
  static constexpr const char* kEos = "<eos>";
  static constexpr const char* kUnk = "<unk>";
  // Adds the words of text that are new.
  void add_text(std::string_view text);
  // Ids of text's words (with <eos> per line); a word not in the vocabulary becomes <unk>, or is a
  // loom::Error naming `source` and the word when there is no <unk>.
  std::vector<int32_t> encode(std::string_view text, const std::string& source) const;
  int64_t size() const { return static_cast<int64_t>(words_.size()); }
  const std::string& word(int32_t id) const { return words_[static_cast<size_t>(id)]; }
  // One word per line, id order.
  std::string text() const;

 private:
  int32_t add(std::string_view w);
  std::vector<std::string> words_;
  std::unordered_map<std::string, int32_t> index_;
};

// tokens -> (n/B, B) time-major: column b is the b-th contiguous 1/B of the tokens (the tail
// that does not fill a row is dropped). Returns the rows' data; rows = size / batch.
std::vector<int32_t> batchify(const std::vector<int32_t>& tokens, int64_t batch);

struct RnnLmTrainConfig {
  int64_t batch = 20;  // parallel streams
  int64_t bptt = 35;   // steps per truncated-BPTT window
  nn::Schedule schedule;
  nn::AdamWConfig adamw;
  float clip = 0.25f;  // global gradient-norm bound; <= 0 disables
  uint64_t seed = 1;   // dropout masks
};

class RnnLmTrainer {
 public:
  // tokens are copied into streams; at least batch·2 of them are needed.
  RnnLmTrainer(models::RnnLm& model, const std::vector<int32_t>& tokens, RnnLmTrainConfig cfg,
               ThreadPool& pool);

  // One optimiser step on the next window; at the end of the streams the walk restarts from the
  // beginning with a zero state (an epoch).
  StepStats step();
  int64_t steps_done() const { return opt_.steps(); }
  int64_t windows_per_epoch() const;

  // Mean next-token loss over all of tokens (streamed as batch columns, windows of bptt, state
  // carried, no dropout); max_windows > 0 stops after that many windows.
  float evaluate(const std::vector<int32_t>& tokens, int64_t max_windows = 0);

 private:
  models::RnnLm& model_;
  RnnLmTrainConfig cfg_;
  ThreadPool& pool_;
  std::vector<int32_t> streams_;  // (rows, batch)
  int64_t rows_ = 0, pos_ = 0;    // next window starts at row pos_
  models::RnnState state_;
  nn::AdamW opt_;
  nn::Tape tape_;
};

}  // namespace loom::train
