// Fine-tuning runs on JSONL data (train/sft_data.h) as library objects: supervised fine-tuning
// (train/sft_trainer.h), DPO (train/dpo_trainer.h), a reward model (train/reward_trainer.h) and
// sequence classification on TSV/JSONL (train/classify_trainer.h) of a model continued from `init`,
// all weights or LoRA, through the same run folder as LmRun (train/run.h): the tokenizer files, the
// train_mode.txt record, checkpoint.loom with exact resume, log.csv, loss.png, the Hugging Face
// model folder and adapter/. `loom train --task sft|dpo` parses flags into FinetuneRunOptions and
// prints what the callbacks and FinetuneRunResult report.
//
// DPO's reference is the init model: its log-probabilities of every training (and held-out) pair
// are computed once, before the first step (LoRA adapters start at B = 0, so the policy is the
// reference then), and cached in the run folder (ref_logprobs.loom, ref_logprobs_eval.loom); a
// resumed run loads them, since the model it holds has moved off the reference.
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/pooling.h"
#include "core/threads.h"
#include "models/causal_lm.h"
#include "models/hf.h"
#include "nn/preference.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "train/classify_trainer.h"
#include "train/dpo_trainer.h"
#include "train/ref_logprobs.h"
#include "train/reward_trainer.h"
#include "train/run_folder.h"
#include "train/sample_eval.h"
#include "train/sft_data.h"
#include "train/sft_trainer.h"
#include "train/token_classify_data.h"
#include "train/train_mode.h"
#include "train/trainer.h"

namespace loom::train {

// What `loom train` optimises: next-token loss on a text or shard (clm, train/run.h), response
// tokens of instruction data (sft), preference pairs (dpo), or a reward model on preference pairs
// (reward: a scalar head score.weight read at the last token, Bradley–Terry loss), or sequence
// classification on labelled text (classify: train/classify_trainer.h, cross-entropy), or token
// classification on tagged sentences (token-classify: train/token_classify_data.h, the head on
// every token, saved as <Family>ForTokenClassification with the tags in id2label).
enum class Task { Clm, Sft, Dpo, Reward, Classify, TokenClassify };
// "clm", "sft", "dpo", "reward", "classify", "token-classify"; a loom::Error otherwise.
Task parse_task(const std::string& s);
const char* task_name(Task t);

struct FinetuneRunOptions {
  FinetuneRunOptions();  // batch 8, lr 1e-4 -> 1e-5 cosine, warmup 10, wd 0, 100 steps

  Task task = Task::Sft;
  std::string data;  // JSONL training data (any format of sft_data.h; pairs for DPO; classify:
                     // TSV or JSONL of train/classify_data.h)
  std::string eval;  // held-out data in the same format ("" = none, or heldout_every)
  int64_t num_labels = 0;  // classify: 0 = 1 + the largest training label (at least 2)
  // classify: the head reads this pooling of the final hidden states (none: the model's own
  // head input, BERT's pooler or a decoder's last token).
  std::optional<Pooling> pooling;
  int64_t heldout_every = 0;  // N >= 2: data lines whose 1-based number N divides are held out
  std::string init;           // the model to fine-tune (anything models::read_hf_model reads)
  std::string tokenizer;      // "" = the init model's (a file beside it)
  std::string chat_template;  // a tokenizer_config.json with chat_template (chats need one)
  std::string out;            // the run folder
  bool resume = false;
  TrainMode mode;  // all or lora (new-embeddings is `--task clm` only)
  std::optional<LoraOptions> lora;
  // 0: min(256, the model's context). Longer examples are cut at the end (sft_data.h's rule);
  // one left with no response token is an error naming its line.
  int64_t seq = 0;
  TrainConfig train;
  nn::DpoOptions dpo;
  int64_t steps = 100;
  int64_t stop_at = 0;  // > 0: stop (with a checkpoint) after this step, as if interrupted
  int64_t eval_every = 20, save_every = 20;
  // sft: pack examples into rows of seq tokens (sft_trainer.h) instead of padding each.
  bool pack = false;
  // sft, dpo: > 0 draws this many completions of every held-out prompt (train/sample_eval.h,
  // seeded by train.seed) before training into samples_before.jsonl and after it into
  // samples.jsonl, the latter with the KL to the init model (the reference).
  int64_t sample_eval = 0;
  int64_t sample_tokens = 32;  // new tokens per completion at most
};

struct FinetuneStepReport {
  StepStats stats;
  DpoStepStats dpo;          // DPO: the step's rewards, margin and accuracy
  float val_loss = NAN;      // latest held-out loss (SFT: response tokens; DPO: the DPO loss)
  RewardStats reward;        // reward model: the step's accuracy and margin
  ClassifyStats classify;    // classify: the step's training accuracy
  float val_accuracy = NAN;  // DPO, reward: latest held-out preference accuracy
  bool evaluated = false;    // the held-out metrics were computed at this step
  double tokens_per_s = 0;   // padded sequence positions per second (chosen + rejected for DPO)
  int64_t real_tokens = 0;   // sft: the step's tokens that are not padding
  int64_t tokens_done = 0;   // in this invocation
};

struct FinetuneRunResult {
  int64_t steps = 0;
  std::string task, mode;
  float loss = NAN, val_loss_before = NAN, val_loss = NAN;
  float val_accuracy_before = NAN, val_accuracy = NAN, val_margin = NAN;  // DPO, reward
  double seconds = 0;
  int64_t params = 0, trainable = 0, train_examples = 0, val_examples = 0;
  std::string model_dir, checkpoint, log, plot;
  std::string adapter;  // model_dir/adapter (PEFT layout) unless all weights train
  int64_t adapter_bytes = 0;
  // classify: the head's label count, and each held-out example's label and final prediction.
  int64_t num_labels = 0;
  std::vector<int32_t> val_labels, val_predicted;
  // token-classify: the held-out sentences' true and predicted tags (the labelled words).
  std::vector<std::vector<std::string>> val_tags, val_predicted_tags;
  std::string ref_cache;    // DPO: the cached reference log-probs of the training pairs
  bool ref_reused = false;  // loaded from the run folder (a resumed run) rather than computed
  double real_tokens_per_s = NAN;  // sft: non-padding tokens per second of the steps
  int64_t sequences = 0;           // sft: rows of seq tokens the data fills (packed or not)
  std::string samples;             // sample_eval: samples.jsonl after training
  double kl_ref = NAN;             // its KL(policy || init) per sampled token
  int64_t kl_tokens = 0;
};

class FinetuneRun {
 public:
  // Everything up to the first step: model, tokenizer, data, the run folder (or the resumed
  // checkpoint), DPO's reference log-probs and the held-out metrics before training. Bad options,
  // files and JSONL lines are a loom::Error naming them. note receives remarks for stderr.
  FinetuneRun(const FinetuneRunOptions& options, ThreadPool& pool,
              std::function<void(const std::string&)> note = {});
  ~FinetuneRun();

  int64_t tokens_to_train() const;
  // Trains to options.steps (or stop_at), saving every save_every steps and at the end.
  FinetuneRunResult train(const std::function<void(const FinetuneStepReport&)>& on_step = {});

 private:
  void check_options() const;
  void load_tokenizer();
  void load_data();
  void build_model();
  void prepare_references();
  void prepare_folder();
  void open_log();
  void evaluate();
  void save();
  FinetuneStepReport step(int64_t stop_at);
  void write_row(const FinetuneStepReport& r);
  std::string record() const;
  int64_t steps_done() const;
  nn::AdamW& optimizer();
  int64_t tokens_per_step() const;
  bool has_val() const { return !val_sft_.empty() || !val_pairs_.empty() || !val_cls_.empty(); }
  void load_classify_data();
  void load_token_data();
  bool classifying() const { return o_.task == Task::Classify || o_.task == Task::TokenClassify; }
  int64_t train_examples() const;
  int64_t val_examples() const;
  void result_labels(FinetuneRunResult& r) const;
  std::vector<std::vector<int32_t>> heldout_prompts() const;
  SampleEval write_samples(const std::string& file, models::CausalLm* reference);

  FinetuneRunOptions o_;
  ThreadPool& pool_;
  std::function<void(const std::string&)> note_;
  std::optional<models::HfModel> init_;
  std::string tok_path_;
  std::unique_ptr<text::Tokenizer> tok_;
  std::unique_ptr<text::ChatTemplate> template_;
  text::ChatTokens chat_tokens_;
  std::vector<SftExample> train_sft_, val_sft_;
  std::vector<PreferenceExample> train_pairs_, val_pairs_;
  std::vector<ClassifyExample> train_cls_, val_cls_;
  int64_t num_labels_ = 0;
  std::vector<std::string> tag_names_;  // token-classify: label id -> tag
  std::vector<int32_t> val_predicted_;
  RefLogprobs ref_, val_ref_;
  bool ref_reused_ = false;
  std::unique_ptr<models::CausalLm> model_;
  std::unique_ptr<SftTrainer> sft_;
  std::unique_ptr<DpoTrainer> dpo_;
  std::unique_ptr<RewardTrainer> reward_;
  std::unique_ptr<ClassifyTrainer> classify_;
  int64_t trainable_ = 0;
  std::string ckpt_, log_path_;
  std::ofstream log_;
  float val_before_ = NAN, val_ = NAN, acc_before_ = NAN, acc_ = NAN, margin_ = NAN;
  int64_t tokens_done_ = 0;
  int64_t real_tokens_ = 0;
  double step_seconds_ = 0;
};

}  // namespace loom::train
