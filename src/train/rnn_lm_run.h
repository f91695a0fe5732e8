// A word-level recurrent LM training run as a library object (`loom train --arch lstm|gru|...`):
// a whitespace-tokenised text with one sentence per line (Penn Treebank style), a held-out split
// (another file, or every Nth line), the model (models/rnn_lm.h), truncated-BPTT training
// (train/rnn_lm_trainer.h), validation loss before, during and after, and a model folder with
// model.safetensors in PyTorch's word_language_model names, config.json and vocab.txt.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/threads.h"
#include "models/rnn_lm.h"
#include "train/rnn_lm_trainer.h"

namespace loom::train {

struct RnnLmRunOptions {
  std::string text;           // training text
  std::string val_text;       // held-out text; "" -> heldout_every
  int64_t heldout_every = 0;  // >= 2: lines whose 1-based number it divides are held out
  std::string out;            // model folder ("" writes none)
  models::RnnLmConfig model;  // vocab_size comes from the data
  RnnLmTrainConfig train;     // schedule.total_steps is set from steps
  int64_t steps = 1000;
  int64_t eval_every = 200;  // steps between validation losses (0: only before and after)
};

struct RnnLmRunResult {
  int64_t steps = 0, vocab = 0, train_tokens = 0, val_tokens = 0, params = 0;
  float loss = 0;  // mean training loss of the last eval_every (or all) steps
  float val_loss_before = 0, val_loss = 0;
  double seconds = 0;
  std::string model_dir;
};

// Called after every step with its stats, the latest validation loss (NaN before the first)
// and the training tokens consumed so far.
using RnnLmStepFn = std::function<void(const StepStats&, float val_loss, int64_t tokens)>;

// Runs the whole thing; bad files or flags are a loom::Error naming them.
RnnLmRunResult run_rnn_lm(RnnLmRunOptions o, ThreadPool& pool, const RnnLmStepFn& on_step);

}  // namespace loom::train
