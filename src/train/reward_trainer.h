// Reward-model training on preference pairs (train/sft_data.h): a decoder with a scalar scoring
// head (CausalLm score_labels = 1, "score.weight") reads each sequence (prompt + response,
// right-padded to seq) at its last token, and the Bradley–Terry loss -log σ(r_chosen - r_rejected)
// (nn::bradley_terry_loss, the batch mean) trains head and model (all weights or LoRA, whatever
// the parameter store trains). Right padding under causal attention leaves the last real token's
// hidden state unchanged, so a pair's reward does not depend on what it is batched with.
#pragma once

#include <cstdint>
#include <vector>

#include "models/causal_lm.h"
#include "nn/optim.h"
#include "nn/tape.h"
#include "train/sft_data.h"
#include "train/trainer.h"

namespace loom::train {

struct RewardStats {
  float loss = 0;      // mean Bradley–Terry loss over the pairs
  float accuracy = 0;  // share of pairs whose chosen reward is higher
  float margin = 0;    // mean r_chosen - r_rejected
};

class RewardTrainer {
 public:
  // pairs stay owned by the caller; every sequence must fit cfg.seq and the model needs a scoring
  // head with one label. Pairs are drawn in a seeded order fixed at construction.
  RewardTrainer(models::CausalLm& model, const std::vector<PreferenceExample>& pairs,
                TrainConfig cfg, ThreadPool& pool);
  // One optimiser step over grad_accum micro-batches of `batch` pairs.
  StepStats step(RewardStats* stats = nullptr);
  int64_t steps_done() const { return opt_.steps(); }
  nn::AdamW& optimizer() { return opt_; }
  // Loss, accuracy and margin over `pairs` in batches of cfg.batch, no gradients.
  RewardStats evaluate(const std::vector<PreferenceExample>& pairs);
  // The loss of pairs[pick] with its gradients added into the parameters' (scaled by `scale`):
  // what step() runs per micro-batch (and what the PyTorch golden checks).
  float compute_gradients(const std::vector<PreferenceExample>& pairs,
                          const std::vector<int64_t>& pick, float scale, RewardStats* stats);

 private:
  // Rewards (B, 1) of the chosen and rejected sequences of pick on tape t.
  std::pair<nn::Var, nn::Var> rewards(nn::Tape& t, const std::vector<PreferenceExample>& pairs,
                                      const std::vector<int64_t>& pick);

  models::CausalLm& model_;
  const std::vector<PreferenceExample>& pairs_;
  TrainConfig cfg_;
  ThreadPool& pool_;
  nn::AdamW opt_;
  nn::Tape tape_;
  std::vector<int64_t> order_;
  std::vector<int32_t> ids_[2], last_[2];  // chosen [0], rejected [1]: live until backward
};

}  // namespace loom::train
