// Sequence-classification fine-tuning (train/classify_data.h examples): the model's
// classification head (CausalLm with score_labels = the label count: BERT's classifier on the
// pooled [CLS] output, a decoder's score.weight at the last non-pad token) and the mean
// cross-entropy over the batch, training head and model (all weights or LoRA, whatever the
// parameter store trains). A batch is right-padded to its longest example with the model's pad
// id; an encoder masks the padding out of attention (HF's attention_mask), a decoder's causal
// attention never sees it. So an example's logits do not depend on its batch.
//
// Two variants on the same head parameters:
// - pooling (sequence classification): the head on nn::pool_sequences of the final hidden states
//   (mean, cls = position 0, last = the last real token) instead of the model's own reading, for
//   models without a pooler (BERT's pooler is then unused);
// - token classification (examples with tags, train/token_classify_data.h): the head on every
//   token's hidden state (BertForTokenClassification's classifier.weight/bias), mean
//   cross-entropy over the positions whose tag is not -100; accuracy and predictions are per
//   labelled position.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/pooling.h"
#include "models/causal_lm.h"
#include "nn/optim.h"
#include "nn/tape.h"
#include "train/classify_data.h"
#include "train/trainer.h"

namespace loom::train {

struct ClassifyStats {
  float loss = 0;      // mean cross-entropy
  float accuracy = 0;  // share of examples (tokens) whose arg-max logit is the label
  int64_t count = 0;   // examples (labelled tokens) the two are over
};

class ClassifyTrainer {
 public:
  // examples stay owned by the caller; each must fit cfg.seq, with labels below the head's
  // count; either all carry tags (token classification) or none does. Examples are drawn in a
  // seeded order fixed at construction. pooling: the head's input for sequence classification
  // (none: the model's own, CausalLm::classify).
  ClassifyTrainer(models::CausalLm& model, const std::vector<ClassifyExample>& examples,
                  TrainConfig cfg, ThreadPool& pool, std::optional<Pooling> pooling = {});
  bool token_level() const { return token_; }
  // One optimiser step over grad_accum micro-batches of `batch` examples.
  StepStats step(ClassifyStats* stats = nullptr);
  int64_t steps_done() const { return opt_.steps(); }
  nn::AdamW& optimizer() { return opt_; }
  // Loss and accuracy over `examples` in batches of cfg.batch, no gradients; the arg-max label
  // of each example into *predicted when given.
  ClassifyStats evaluate(const std::vector<ClassifyExample>& examples,
                         std::vector<int32_t>* predicted = nullptr);
  // The mean loss of examples[pick] with its gradients added into the parameters' (scaled by
  // `scale`): what step() runs per micro-batch (and what the PyTorch golden checks).
  float compute_gradients(const std::vector<ClassifyExample>& examples,
                          const std::vector<int64_t>& pick, float scale, ClassifyStats* stats);

 private:
  // Logits (B, labels) of examples[pick] on tape t, or (B*T, labels) for token classification;
  // labels_ holds their labels (-100 at positions without one).
  nn::Var logits(nn::Tape& t, const std::vector<ClassifyExample>& examples,
                 const std::vector<int64_t>& pick);
  void check_example(const ClassifyExample& e, int64_t labels) const;

  models::CausalLm& model_;
  const std::vector<ClassifyExample>& examples_;
  TrainConfig cfg_;
  ThreadPool& pool_;
  std::optional<Pooling> pooling_;
  bool token_ = false;
  nn::AdamW opt_;
  nn::Tape tape_;
  std::vector<int64_t> order_;
  // The batch on the tape: live until backward.
  std::vector<int32_t> ids_, last_, labels_, lens_;
  std::vector<uint8_t> mask_;
};

}  // namespace loom::train
