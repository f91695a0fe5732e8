// Preference-tuning losses on the tape: per-sequence log-probabilities of response tokens, the
// DPO loss (sigmoid with label smoothing, or IPO) and the Bradley-Terry reward-model loss.
// Definitions as TRL's DPOTrainer / RewardTrainer (arXiv:2305.18290, 2310.12036).
#pragma once

#include <cstdint>

#include "nn/tape.h"

namespace loom::nn {

// logits (B*T, V), targets (B*T) -> (B, 1): out[b] = sum over t with targets[b*T+t] !=
// ignore_index of log_softmax(logits[b*T+t])[targets[b*T+t]] (0 for a sequence with none).
// Backward: dlogits[i] = dout[b] · (onehot(target) - softmax(logits[i])) on counted rows.
Var sequence_logprobs(Tape& t, Var logits, const int32_t* targets, int64_t batch, int64_t seq,
                      int32_t ignore_index = -100);

struct DpoOptions {
  float beta = 0.1f;
  float label_smoothing = 0.0f;  // conservative DPO: the share of preference labels assumed wrong
  bool ipo = false;              // IPO's squared loss instead of the sigmoid loss
};

// Policy and reference log-probabilities of chosen and rejected responses, each (B, 1)
// (references usually tape constants) -> loss (1), the batch mean of
//   sigmoid: -(1-ls)·logσ(β·Δ) - ls·logσ(-β·Δ);   IPO: (Δ - 1/(2β))²
// with Δ = (policy_chosen - policy_rejected) - (ref_chosen - ref_rejected).
Var dpo_loss(Tape& t, Var policy_chosen, Var policy_rejected, Var ref_chosen, Var ref_rejected,
             const DpoOptions& options = {});

// Rewards of chosen and rejected responses, each (B, 1) -> loss (1) = mean of
// -logσ(r_chosen - r_rejected) (Bradley-Terry).
Var bradley_terry_loss(Tape& t, Var reward_chosen, Var reward_rejected);

// log σ(x), stable for large |x|.
double log_sigmoid(double x);

}  // namespace loom::nn
