// A contrastive training run as a library object: a causal LM fine-tuned into a text embedder
// (InfoNCE with in-batch negatives, optional hard negatives, Matryoshka dims) on a pairs file,
// with its run folder, exact resume and checkpoint loop. The folder is a Hugging Face model
// directory with the run's tokenizer; the caller adds its embedding config through on_save
// (src/embed writes sentence-transformers' files; this module does not see it).
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/threads.h"
#include "models/causal_lm.h"
#include "text/tokenizer.h"
#include "train/contrastive_trainer.h"
#include "models/causal_lm.h"
#include "models/hf.h"
#include "train/run_folder.h"
#include "train/train_mode.h"

namespace loom::train {

struct ContrastiveRunOptions {
  ContrastiveRunOptions();  // `loom train-embed`'s defaults: batch 32, lr 1e-3 -> 1e-4, ...

  std::string init;       // model to fine-tune (anything models::load_model reads)
  std::string tokenizer;  // "" = a tokenizer file beside init
  std::string pairs;      // TSV or JSONL pairs (train/contrastive_trainer.h read_pairs)
  bool skip_bad = false;  // skip malformed pair lines (reported through note) instead of failing
  std::string out;        // the run folder
  bool resume = false;
  TrainMode mode;                   // all or lora
  std::optional<LoraOptions> lora;  // with mode.lora
  int64_t max_tokens = 0;           // tokens per text, longer ones truncated; 0: min(128, context)
  ContrastiveConfig train;  // batch, pooling, loss, matryoshka, schedule (total_steps from steps)
  int64_t steps = 200;
  int64_t stop_at = 0;  // > 0: stop (with a checkpoint) after this step, as if interrupted
  int64_t save_every = 100;
  // Called after each save with the run folder, to add files beside the model.
  std::function<void(const std::string&)> on_save;
};

struct ContrastiveStepReport {
  StepStats stats;
  double pairs_per_s = 0;
};

struct ContrastiveRunResult {
  int64_t steps = 0, pairs = 0, with_negative = 0, truncated = 0, trainable = 0;
  float loss_first = NAN, loss = NAN;
  double seconds = 0;
  std::string model_dir, log;
};

class ContrastiveRun {
 public:
  // Reads the pairs, copies the tokenizer into the run folder and encodes the texts from that
  // copy (tokenizer.json, as `loom embed --model DIR` will), builds the model and trainer, and
  // resumes the checkpoint when asked. note receives skipped pair lines.
  ContrastiveRun(const ContrastiveRunOptions& options, ThreadPool& pool,
                 std::function<void(const std::string&)> note = {});
  ~ContrastiveRun();

  int64_t pairs() const { return static_cast<int64_t>(data_.size()); }
  int64_t with_negative() const { return with_negative_; }
  int64_t truncated() const { return truncated_; }  // texts cut to max_tokens()
  int64_t max_tokens() const { return max_tokens_; }
  int64_t steps() const { return o_.steps; }
  int64_t d_model() const { return model_->config().dim; }
  const ContrastiveConfig& config() const { return o_.train; }

  ContrastiveRunResult train(const std::function<void(const ContrastiveStepReport&)>& on_step = {});

  // Each text's pooled vector (d_model) as the training graph computes it, encoded and truncated
  // as the training texts were.
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts);

 private:
  void check_options() const;
  void prepare_tokenizer();
  void encode_pairs(const std::vector<TextPair>& pairs);
  std::vector<int32_t> encode(const std::string& s);
  void build_model();
  std::string record() const;
  void prepare_folder();
  void save();

  ContrastiveRunOptions o_;
  ThreadPool& pool_;
  std::function<void(const std::string&)> note_;
  models::HfModel init_;
  std::shared_ptr<const text::Tokenizer> tok_;
  int64_t max_tokens_ = 0, truncated_ = 0, with_negative_ = 0, trainable_ = 0;
  std::vector<TokenPair> data_;
  std::unique_ptr<models::CausalLm> model_;
  std::unique_ptr<ContrastiveTrainer> trainer_;
  std::string ckpt_, log_path_;
  std::ofstream log_;
};

}  // namespace loom::train
