// Direct preference optimisation of a policy (full or LoRA: whatever the model's parameter store
// trains) against cached reference log-probabilities (train/ref_logprobs.h), so the reference
// model is not in memory. Each micro-batch runs the policy on `batch` chosen and `batch` rejected
// sequences (right-padded to seq), sums their response-token log-probs (nn::sequence_logprobs)
// and takes nn::dpo_loss. Logged as TRL does: rewards β·(policy - reference) of chosen and
// rejected responses, their margin, and the share of pairs whose chosen reward is higher.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/optim.h"
#include "nn/preference.h"
#include "nn/tape.h"
#include "train/ref_logprobs.h"
#include "train/trainer.h"

namespace loom::train {

struct DpoStepStats {
  StepStats step;
  float chosen_reward = 0, rejected_reward = 0;  // means over the step's pairs
  float margin = 0;                              // mean chosen - rejected reward
  float accuracy = 0;                            // share of pairs with chosen reward > rejected
  // Mean per-pair DPO loss from the rewards (what nn::dpo_loss gives on the same pairs): the
  // held-out loss of evaluate().
  float loss = 0;
};

class DpoTrainer {
 public:
  // pairs and ref stay owned by the caller (ref computed on these pairs); every sequence must
  // fit cfg.seq. Pairs are drawn in a seeded order fixed at construction.
  DpoTrainer(models::CausalLm& policy, const std::vector<PreferenceExample>& pairs,
             const RefLogprobs& ref, nn::DpoOptions dpo, TrainConfig cfg, ThreadPool& pool);
  DpoStepStats step();
  int64_t steps_done() const { return opt_.steps(); }
  nn::AdamW& optimizer() { return opt_; }  // for checkpoints (save_train_checkpoint)
  // Rewards, margin, accuracy and loss over `pairs` with their reference log-probs (no gradients).
  DpoStepStats evaluate(const std::vector<PreferenceExample>& pairs, const RefLogprobs& ref);

 private:
  // Policy log-probs (B, 1) of the chosen and rejected sequences of pick on the tape.
  std::pair<nn::Var, nn::Var> policy_logprobs(nn::Tape& t,
                                              const std::vector<PreferenceExample>& pairs,
                                              const std::vector<int64_t>& pick);
  void add_metrics(DpoStepStats& s, const float* pc, const float* pr, const RefLogprobs& ref,
                   const std::vector<int64_t>& pick) const;

  models::CausalLm& model_;
  const std::vector<PreferenceExample>& pairs_;
  const RefLogprobs& ref_;
  nn::DpoOptions dpo_;
  TrainConfig cfg_;
  ThreadPool& pool_;
  nn::AdamW opt_;
  nn::Tape tape_;
  std::vector<int64_t> order_;
  // Chosen [0] and rejected [1] batches: kept until the tape's backward has run.
  std::vector<int32_t> ids_[2], targets_[2];
  std::vector<SftExample> side_;  // the chosen or rejected sequences of a batch
};

}  // namespace loom::train
