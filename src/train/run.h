// A causal-LM training run as a library object: the data (a text file's bytes or tokenizer ids,
// or token shards, with a held-out split), the model (from scratch or continued from --init),
// what learns (all, new embedding rows, LoRA), the run folder with exact resume, the evaluation
// and checkpoint loop, and the Hugging Face model folder it leaves. `loom train` parses flags
// into LmRunOptions and prints what the callbacks and LmRunResult report; the server and the
// Python module can drive the same run.
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
#include "models/causal_lm.h"
#include "models/hf.h"
#include "train/process_group.h"
#include "train/run_folder.h"
#include "train/train_mode.h"
#include "train/trainer.h"

namespace loom::train {

// The tokens a run trains and validates on.
struct TokenData {
  std::vector<int32_t> train, val;
  int64_t vocab = 256;  // every id is below it (a text's bytes: 256)
  int64_t docs_train = 0, docs_val = 0;
};

// A text file's tokens. With tok: one document per line, encoded with its special tokens and
// followed by EOS when it has one. Without: the bytes, the whole file as one document, or one
// per line (with its '\n') when heldout_every > 0. heldout_every N >= 2 holds out the lines whose
// 1-based number N divides; 0 holds out none.
TokenData text_tokens(const std::string& path, const text::Tokenizer* tok, int64_t heldout_every);
// A token shard and, unless val_path is "", a held-out shard of the same vocabulary.
TokenData shard_tokens(const std::string& path, const std::string& val_path);
// The last val_frac (in [0, 0.5)) of the training tokens become the held-out ones.
void hold_out_tail(TokenData& data, double val_frac);

// The architecture of a run from scratch.
struct ModelShape {
  std::string arch;  // a name of the models registry (the CLI's --arch); required
  int64_t d_model = 128, n_layers = 4, n_heads = 4;
  int64_t n_kv_heads = 0;  // 0: n_heads
  int64_t d_ff = 0;        // 0: the architecture's default (models::Architecture::normalize)
};

struct LmRunOptions {
  LmRunOptions();  // `loom train`'s defaults: batch 16, lr 1e-3 -> 1e-4 cosine, warmup 100, ...

  // Data: exactly one of text and shard; val_shard only with shard, heldout_every only with text.
  std::string text, shard, val_shard;
  int64_t heldout_every = 0;
  double val_frac = 0.1;    // the held-out tail when no other split is given
  std::string init;         // model to continue (anything models::load_model reads); "" from scratch
  std::string tokenizer;    // for text: "" = the init model's (a file beside it), else bytes
  std::string out;          // the run folder
  bool resume = false;      // continue out/checkpoint.loom exactly
  TrainMode mode;           // what learns
  int64_t base_vocab = -1;  // new-embeddings: rows below stay frozen; -1 = the init's config
  std::optional<LoraOptions> lora;  // LoRA modes (default LoraOptions when unset)
  ModelShape shape;                 // from scratch only
  int64_t seq = 0;                  // 0: min(128, the init model's context); 128 from scratch
  TrainConfig train;  // batch, grad_accum, schedule (total_steps set from steps), adamw, ...
  int64_t steps = 1000;
  int64_t stop_at = 0;  // > 0: stop (with a checkpoint) after this step, as if interrupted
  int64_t eval_every = 100, eval_batches = 8, save_every = 100;
  int64_t sample = -1;  // tokens sampled at the end (text only); -1: 200 with text, else 0
};

struct LmStepReport {
  StepStats stats;
  float val_loss = NAN;    // the latest validation loss (NaN before the first)
  bool evaluated = false;  // val_loss was computed at this step
  double tokens_per_s = 0;
  int64_t tokens_done = 0;  // in this invocation
};

struct LmRunResult {
  bool root = true;  // false on the other processes of an MPI job, which report nothing else
  int64_t steps = 0;
  std::string mode;
  float loss = NAN, val_loss_before = NAN, val_loss = NAN;
  double seconds = 0;
  int64_t params = 0, trainable = 0;
  int64_t train_tokens = 0, val_tokens = 0, docs_train = 0, docs_val = 0;
  // sha256 of the rows below base_vocab of the embedding (and untied head): new-embeddings only.
  std::string rows_sha256_before, rows_sha256_after;
  std::string model_dir, checkpoint, log, plot;
  // model_dir/adapter: the PEFT adapter directory (models/peft.h) of a run that trained only new
  // rows and/or LoRA; "" for --train all. adapter_bytes: its adapter_config.json and
  // adapter_model.safetensors together.
  std::string adapter;
  int64_t adapter_bytes = 0;
  std::string sample;  // text sampled at temperature 0.8 after training
};

class LmRun {
 public:
  // Everything up to the first step: data, model, the run folder (or the resumed checkpoint) and
  // the validation loss before training. Bad options and files are a loom::Error naming them.
  // note receives remarks worth a line on stderr.
  LmRun(const LmRunOptions& options, ThreadPool& pool,
        std::function<void(const std::string&)> note = {});
  ~LmRun();

  bool root() const { return group_->is_root(); }
  // Tokens the remaining steps train on, over every process.
  int64_t tokens_to_train() const;
  // Trains to options.steps (or stop_at), saving every save_every steps and at the end.
  LmRunResult train(const std::function<void(const LmStepReport&)>& on_step = {});

 private:
  void check_options() const;
  void load_tokenizer();
  void load_data();
  models::DecoderConfig model_config() const;
  void build_model();
  void prepare_folder();
  void open_log();
  void write_model_folder();
  void save();
  void save_adapter();
  LmStepReport step(int64_t stop_at);
  std::string sample_text() const;

  LmRunOptions o_;
  ThreadPool& pool_;
  std::function<void(const std::string&)> note_;
  std::optional<models::HfModel> init_;
  std::string tok_path_;
  std::unique_ptr<text::Tokenizer> tok_;
  TokenData data_;
  std::unique_ptr<models::CausalLm> model_;
  std::unique_ptr<CausalLmTrainer> trainer_;
  std::unique_ptr<ProcessGroup> group_;
  int64_t trainable_ = 0;
  std::string rows_before_;
  std::string ckpt_, log_path_;
  std::ofstream log_;
  float val_before_ = NAN, val_ = NAN;
  int64_t tokens_done_ = 0;
};

}  // namespace loom::train
