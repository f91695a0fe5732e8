// Supervised fine-tuning on instruction data (train/sft_data.h): batches of examples padded on
// the right to a fixed length, next-token loss on the response tokens only (labels -100
// elsewhere and on padding), the same optimiser step as the LM trainer (finish_step). Right
// padding under causal attention leaves every real position's logits unchanged, so an example's
// loss does not depend on what it is batched with. The loss is the mean over the batch's trained
// tokens (token-weighted, as transformers' Trainer computes it).
//
// Packing (pack = true) removes the padding: examples are laid end to end into rows of seq
// tokens, each with its own segment id, so attention stays inside an example (block-diagonal
// causal mask) and positions restart at 0 for each (models/tape_ops.h's TokenBatch::segments).
// An example's logits, and so its loss, are then the same as alone; a packed micro-batch holds
// more examples than a padded one.
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

// The examples in `order` laid greedily into rows of seq tokens: each goes at the end of the
// current row when it fits, else it starts the next row (an example never spans two rows; each
// fits seq, sft_data's max_len). Returns each row's example indices.
std::vector<std::vector<int64_t>> pack_rows(const std::vector<SftExample>& data,
                                            const std::vector<int64_t>& order, int64_t seq);
// Rows pick[k] of `rows` into ids/targets/segments (batch*seq each): the row's examples one after
// another, ids, shift_labels(labels) (so no target crosses into the next example) and segment k'
// (the example's index in its row); the rest of the row pad_id, -100 and segment -1.
void sft_packed_batch(const std::vector<SftExample>& data,
                      const std::vector<std::vector<int64_t>>& rows,
                      const std::vector<int64_t>& pick, int64_t seq, int32_t pad_id, int32_t* ids,
                      int32_t* targets, int32_t* segments);
// Mean next-token cross-entropy over in's targets != -100 (B*T), packed (in.segments) or not.
nn::Var sft_loss(models::CausalLm& model, nn::Tape& t, const models::TokenBatch& in,
                 const int32_t* targets);

class SftTrainer {
 public:
  // data stays owned by the caller; every example must fit cfg.seq and the model's vocabulary.
  // pack: micro-batches of cfg.batch packed rows (pack_rows over the seeded example order).
  SftTrainer(models::CausalLm& model, const std::vector<SftExample>& data, TrainConfig cfg,
             ThreadPool& pool, bool pack = false);
  // One optimiser step over grad_accum micro-batches. Examples are drawn in a seeded order fixed
  // at construction, micro-batch m of step s taking the next `batch` of them (so a resumed run
  // sees the same batches).
  StepStats step();
  int64_t steps_done() const { return opt_.steps(); }
  // Non-padding tokens of the last step's micro-batches.
  int64_t last_step_tokens() const { return last_tokens_; }
  // Sequences of cfg.seq the data fills: examples, or packed rows.
  int64_t sequences() const;
  nn::AdamW& optimizer() { return opt_; }
  // Mean response-token loss over `data` in batches of cfg.batch, no gradients.
  float evaluate(const std::vector<SftExample>& data);

 private:
  int64_t fill_batch(const std::vector<int64_t>& pick);

  models::CausalLm& model_;
  const std::vector<SftExample>& data_;
  TrainConfig cfg_;
  ThreadPool& pool_;
  nn::AdamW opt_;
  nn::Tape tape_;
  bool pack_;
  std::vector<int64_t> order_;  // examples, or rows_ when packing
  std::vector<std::vector<int64_t>> rows_;
  std::vector<int32_t> ids_, targets_, segments_;
  int64_t last_tokens_ = 0;
};

}  // namespace loom::train
