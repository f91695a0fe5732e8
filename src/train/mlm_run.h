// Masked-LM pre-training run (`loom train --objective mlm`) as a library object: a text file
// (one document per line) tokenized with the run's tokenizer and packed into sequences of
// [CLS] + up to seq - 2 tokens + [SEP] (documents joined, as Hugging Face's run_mlm groups
// texts), an encoder initialised from a config.json (BERT/RoBERTa sizes; a pooler and an MLM
// head, weights seeded as transformers' initializer_range) or continued from --init, dynamic
// masking per step (train/mlm_trainer.h), and the run folder of the other runs: tokenizer files,
// train_mode.txt, checkpoint.loom with exact resume, log.csv (with the step's masking shares),
// loss.png and the Hugging Face model folder (BertForMaskedLM names) that `loom train --task
// classify --init` continues.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/threads.h"
#include "models/causal_lm.h"
#include "models/hf.h"
#include "text/tokenizer.h"
#include "train/mlm_trainer.h"
#include "train/trainer.h"

namespace loom::train {

// An encoder's config from a Hugging Face config.json without weights (model_type bert or
// roberta; hidden_size, num_hidden_layers, num_attention_heads, intermediate_size,
// max_position_embeddings, type_vocab_size, layer_norm_eps, pad_token_id; vocab_size, or
// `vocab` when the file has none), with a pooler and an MLM head. Errors name the file and field.
models::DecoderConfig encoder_config_json(const std::string& path, int64_t vocab);

// An encoder-decoder's config (model_type t5 or bart) from a config.json without weights: the
// architecture's hyperparameters (its config.json keys) read from the file, then checked by the
// architecture's own config reader against zero tensors of the shapes they imply. vocab_size
// defaults to `vocab`. Settings that change the tensor set outside those keys (T5's gated-gelu)
// are refused as a tensor mismatch. Errors name the file and field.
models::DecoderConfig seq2seq_config_json(const std::string& path, int64_t vocab);

struct MlmRunOptions {
  MlmRunOptions();   // batch 32, seq 128, lr 5e-4 -> 5e-5 cosine, warmup 100, wd 0.01, 1000 steps
  std::string text;  // training text, one document per line
  int64_t heldout_every = 0;  // N >= 2: lines whose 1-based number N divides are held out
  std::string config;         // config.json of a new encoder (or init)
  std::string init;           // an encoder to continue (anything models::read_hf_model reads)
  std::string tokenizer;      // required with config; default: init's
  std::string out;
  bool resume = false;
  double probability = 0.15;  // share of tokens chosen; 80/10/10 as MlmConfig
  bool whole_word = false;    // WordPiece words ("##" continuations join the word before)
  // mlm (an encoder); span: T5 span corruption (a t5 config; <extra_id_0..99> are added to the
  // tokenizer when absent, at the top of the vocabulary as T5 has them); denoise: BART's sentence
  // permutation + text infilling (a bart config; <s>/</s> or [CLS]/[SEP], and <mask> or
  // [MASK], <mask> added when the tokenizer has neither).
  Objective objective = Objective::Mlm;
  int64_t seq = 128;
  TrainConfig train;
  int64_t steps = 1000, stop_at = 0, eval_every = 100, save_every = 100;
};

struct MlmStepReport {
  StepStats stats;
  MlmStats mlm;
  float val_loss = NAN;
  bool evaluated = false;
  double tokens_per_s = 0;
  int64_t tokens_done = 0;
};

struct MlmRunResult {
  int64_t steps = 0, params = 0, train_sequences = 0, val_sequences = 0, train_tokens = 0;
  float loss = NAN, val_loss_before = NAN, val_loss = NAN;
  double seconds = 0;
  std::string model_dir, checkpoint, log, plot;
};

class MlmRun {
 public:
  MlmRun(const MlmRunOptions& options, ThreadPool& pool,
         std::function<void(const std::string&)> note = {});
  ~MlmRun();
  int64_t tokens_to_train() const;
  MlmRunResult train(const std::function<void(const MlmStepReport&)>& on_step = {});

 private:
  void check_options() const;
  void load_data();
  void build_model();
  void prepare_folder();
  void save();
  MlmStepReport step(int64_t stop_at);
  std::string record() const;

  MlmRunOptions o_;
  ThreadPool& pool_;
  std::function<void(const std::string&)> note_;
  std::string tok_path_;
  std::unique_ptr<text::Tokenizer> tok_;
  MlmConfig mlm_;
  Seq2seqNoise noise_;
  void add_sentinels();
  void prepare_noise();
  std::vector<MlmSequence> train_, val_;
  nlohmann::ordered_json config_json_;
  std::unique_ptr<models::CausalLm> model_;
  std::unique_ptr<MlmTrainer> trainer_;
  std::string ckpt_, log_path_;
  std::ofstream log_;
  float val_before_ = NAN, val_loss_ = NAN;
  int64_t tokens_done_ = 0, train_tokens_ = 0;
};

}  // namespace loom::train
