// Supervised fine-tuning on instruction data (train/sft_data.h): batches of examples padded on
// the right to a fixed length, next-token loss on the response tokens only (labels -100
// elsewhere and on padding), the same optimiser step as the LM trainer (finish_step). Right
// padding under causal attention leaves every real position's logits unchanged, so an example's
// loss does not depend on what it is batched with. The loss is the mean over the batch's trained
// tokens (token-weighted, as transformers' Trainer computes it).
#pragma once

#include <cstdint>
#include <vector>

#include "models/causal_lm.h"
#include "nn/optim.h"
#include "nn/tape.h"
#include "train/sft_data.h"
#include "train/trainer.h"

namespace loom::train {

// Examples pick[k] (k < batch) into ids/targets (batch*seq each): ids padded with pad_id,
// targets = shift_labels(labels) and -100 on padding. An example longer than seq is a
// programmer error here (sft_data's max_len cuts them).
void sft_batch(const std::vector<SftExample>& data, const std::vector<int64_t>& pick, int64_t seq,
               int32_t pad_id, int32_t* ids, int32_t* targets);

class SftTrainer {
 public:
  // data stays owned by the caller; every example must fit cfg.seq and the model's vocabulary.
  SftTrainer(models::CausalLm& model, const std::vector<SftExample>& data, TrainConfig cfg,
             ThreadPool& pool);
  // One optimiser step over grad_accum micro-batches. Examples are drawn in a seeded order fixed
  // at construction, micro-batch m of step s taking the next `batch` of them (so a resumed run
  // sees the same batches).
  StepStats step();
  int64_t steps_done() const { return opt_.steps(); }
  nn::AdamW& optimizer() { return opt_; }
  // Mean response-token loss over `data` in batches of cfg.batch, no gradients.
  float evaluate(const std::vector<SftExample>& data);

 private:
  models::CausalLm& model_;
  const std::vector<SftExample>& data_;
  TrainConfig cfg_;
  ThreadPool& pool_;
  nn::AdamW opt_;
  nn::Tape tape_;
  std::vector<int64_t> order_;
  std::vector<int32_t> ids_, targets_;
};

}  // namespace loom::train
