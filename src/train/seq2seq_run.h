// A sequence-to-sequence training run on the dates task (train/dates.h) as a library object
// (`loom seq2seq train|eval|translate`): seeded splits, character vocabularies, models::Seq2Seq
// trained with teacher forcing (AdamW, the shared schedule, gradient clipping, finish_step), the
// validation loss along the way, and exact-match accuracy of greedy and beam decoding on the test
// split. The run folder: model.safetensors (the tutorial modules' names), config.json (the model,
// the task and its seed, BOS/EOS), src_vocab.txt and tgt_vocab.txt, log.csv, loss.png, and
// attention.png (the attention of the first test example, drawn by train/heatmap.h). A run starts
// from scratch (there is no resume).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/threads.h"
#include "generate/beam_search.h"
#include "models/seq2seq.h"
#include "nn/optim.h"
#include "train/dates.h"
#include "train/trainer.h"

namespace loom::train {

struct DatesTask {
  uint64_t seed = 1;
  int64_t n_train = 20000, n_valid = 500, n_test = 1000;
};

struct Seq2SeqRunOptions {
  std::string out;              // run folder
  DatesTask task;               // the seed also draws the initial weights and dropout masks
  models::Seq2SeqConfig model;  // vocab sizes come from the data
  int64_t batch = 64, steps = 2000;
  int64_t eval_every = 250;  // steps between validation losses (0: only at the end)
  nn::Schedule schedule;     // total_steps is set from steps
  nn::AdamWConfig adamw;
  float clip = 1.0f;
  generate::BeamSearchOptions beam;  // num_beams, length_penalty; max_new_tokens is set
};

// Exact-match accuracy (the decoded string equals the ISO target) over examples.
struct Seq2SeqAccuracy {
  int64_t examples = 0, greedy_exact = 0, beam_exact = 0;
  double greedy() const { return examples ? static_cast<double>(greedy_exact) / examples : 0; }
  double beam() const { return examples ? static_cast<double>(beam_exact) / examples : 0; }
};

struct Seq2SeqRunResult {
  int64_t steps = 0, params = 0, src_vocab = 0, tgt_vocab = 0;
  float loss = 0;  // mean training loss of the steps since the last evaluation
  float val_loss_before = 0, val_loss = 0;
  Seq2SeqAccuracy test;
  double seconds = 0;
};

// A trained model with its vocabularies, as a run folder holds it.
struct Seq2SeqBundle {
  std::unique_ptr<models::Seq2Seq> model;
  CharVocab src{{"<pad>", "<unk>"}}, tgt{{"<bos>", "<eos>"}};
  DatesTask task;
  int32_t bos = 0, eos = 1, unk = 1;
  int64_t max_len = 12;  // decoder steps, the EOS included

  // One translation: greedy when options.num_beams <= 1, else the best beam.
  models::Seq2SeqOutput translate(ThreadPool& pool, const std::string& text,
                                  const generate::BeamSearchOptions& options) const;
  // Greedy (batched) and beam accuracy over examples.
  Seq2SeqAccuracy accuracy(ThreadPool& pool, const std::vector<DateExample>& examples,
                           const generate::BeamSearchOptions& options) const;
};

// A run folder's config.json: the model's config (sizes bounded), the special ids, the decoding
// limit and the task. Bad JSON, a missing or out-of-range field is a loom::Error naming path and
// the field.
struct Seq2SeqFolderConfig {
  models::Seq2SeqConfig model;
  DatesTask task;
  int32_t bos = 0, eos = 1, unk = 1;
  int64_t max_len = 12;
};
Seq2SeqFolderConfig parse_seq2seq_config(const std::string& text, const std::string& path);

// Reads DIR's config.json, vocabularies and model.safetensors; errors name the file and field.
Seq2SeqBundle load_seq2seq_dir(const std::string& dir);

// Called after every step with its stats and the latest validation loss (NaN before the first).
using Seq2SeqStepFn = std::function<void(const StepStats&, float val_loss)>;
Seq2SeqRunResult run_seq2seq_dates(Seq2SeqRunOptions o, ThreadPool& pool,
                                   const Seq2SeqStepFn& on_step);

// The attention of `out` (decoded from `text`) as a labelled heatmap PNG at png_path.
void write_attention_png(const Seq2SeqBundle& b, const std::string& text,
                         const models::Seq2SeqOutput& out, const std::string& png_path);

}  // namespace loom::train
