// Causal-LM training loop over a token array: deterministic batches from a seed, AdamW with a
// warmup + decay schedule, global-norm clipping, gradient accumulation, bf16 compute, checkpoints
// with exact resume, and a hard stop on a non-finite loss or gradient.
//
// Reproducibility: batches come from a BatchSampler (train/token_shard.h), seeded by (seed, step,
// micro) rather than a running stream, so the same seed + data + thread count gives the same loss
// curve, and a resumed run needs no RNG state to continue exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/threads.h"
#include "models/causal_lm.h"
#include "nn/optim.h"
#include "nn/tape.h"
#include "train/process_group.h"
#include "train/token_shard.h"

namespace loom::train {

using models::CausalLm;
using nn::AdamWConfig;
using nn::Compute;
using nn::Schedule;

struct TrainConfig {
  int64_t batch = 8;       // sequences per micro-batch
  int64_t seq = 256;       // tokens per sequence
  int64_t grad_accum = 1;  // micro-batches per optimiser step
  Schedule schedule;       // lr, min_lr, warmup, total_steps, decay
  AdamWConfig adamw;
  float clip = 1.0f;  // global gradient-norm bound; <= 0 disables
  uint64_t seed = 1;
  Compute compute = Compute::F32;
};

struct StepStats {
  int64_t step = 0;  // 1-based index of the step just taken
  float loss = 0;    // mean over the step's micro-batches
  float lr = 0;
  float grad_norm = 0;  // before clipping
};

// Continues `prompt` (non-empty) by n tokens drawn by generate::Sampler (temperature only, seeded;
// greedy when temperature <= 0), recomputing the last max_seq tokens each time: for looking at a
// model during training, not for serving (src/generate has the KV-cached decoder).
std::vector<int32_t> sample_tokens(CausalLm& model, ThreadPool& pool, std::vector<int32_t> prompt,
                                   int64_t n, float temperature, uint64_t seed);

// The pieces every trainer shares (the LM loop below, train/contrastive_trainer.h):
//  finish_step: global-norm clipping, the non-finite gradient stop, the scheduled lr and the
//  optimiser update after the gradients of step `step` (0-based) are in; returns the stats with
//  `loss` as given. A non-finite norm throws loom::Error before any parameter changes.
StepStats finish_step(nn::ParamStore& params, nn::AdamW& opt, const Schedule& schedule, float clip,
                      ThreadPool& pool, int64_t step, float loss);
// The example-level trainers (SFT, DPO, reward model): 0..n-1 shuffled by seed (Fisher-Yates on
// Rng(seed)), fixed at construction; micro-batch m of step s takes the next cfg.batch entries
// (wrapping around), so a resumed run sees the same batches.
std::vector<int64_t> seeded_order(size_t n, uint64_t seed);
void micro_batch_pick(const std::vector<int64_t>& order, const TrainConfig& cfg, int64_t step,
                      int64_t m, std::vector<int64_t>& pick);
// One optimiser step of such a trainer: gradients zeroed; for each of cfg.grad_accum micro-batches
// (micro_batch_pick of order), micro(pick, m, 1 / grad_accum) adds its gradients scaled by the
// last argument and returns its loss; then finish_step with the micro-batches' mean loss.
StepStats example_step(
    nn::ParamStore& params, nn::AdamW& opt, const TrainConfig& cfg,
    const std::vector<int64_t>& order, ThreadPool& pool, int64_t step,
    const std::function<float(const std::vector<int64_t>&, int64_t, float)>& micro);
// 0..n-1 in consecutive batches of `batch` (the last one shorter), each given to fn: what the
// trainers' evaluate() runs over held-out examples.
void for_each_batch(size_t n, int64_t batch,
                    const std::function<void(const std::vector<int64_t>&)>& fn);
// The checkpoint file format (see CausalLmTrainer::save_checkpoint) for any model + AdamW.
// (model is not changed; it is non-const only because its parameter store has no const access.)
// batch, seq and grad_accum > 0 and seq within the model's context, or a loom::Error.
void check_train_config(const TrainConfig& cfg, const CausalLm& model);
void save_train_checkpoint(CausalLm& model, const nn::AdamW& opt, const std::string& path);
void load_train_checkpoint(CausalLm& model, nn::AdamW& opt, const std::string& path);

class CausalLmTrainer {
 public:
  // tokens stay owned by the caller and must outlive the trainer; ids must be < vocab_size.
  CausalLmTrainer(CausalLm& model, const int32_t* tokens, int64_t n_tokens, TrainConfig cfg,
                  ThreadPool& pool);

  // One optimiser step. A NaN/Inf loss or gradient norm throws loom::Error before any parameter
  // or optimiser state changes (so the last checkpoint stays the last good state).
  StepStats step();
  int64_t steps_done() const { return opt_.steps(); }

  // Data parallelism: with a group of W processes (each with its own trainer on the same model,
  // data and config), process r runs micro-batches m*W + r of every step, the gradients are
  // summed across processes, and each takes the same optimiser step. W processes with
  // grad_accum A equal one process with grad_accum A*W. nullptr (default): a single process.
  void set_process_group(ProcessGroup* group) { group_ = group; }
  // The optimiser (its moments, for checks that frozen rows keep zero state).
  nn::AdamW& optimizer() { return opt_; }

  // Mean loss over `batches` deterministic batches of `tokens` (e.g. a validation split), no
  // gradients.
  float evaluate(const int32_t* tokens, int64_t n_tokens, int64_t batches, uint64_t seed);

  // Model config, parameters, AdamW moments and step count, written atomically (temporary file,
  // fsync, rename). Format: "LOOMCKPT" magic, u32 version, u64 header length, a text header
  // (config and "param name offset numel" lines), the f32 value / m / v blocks, then an FNV-1a-64
  // checksum of everything before it.
  void save_checkpoint(const std::string& path) const;
  // Restores what save_checkpoint wrote; throws loom::Error naming the file and the field when
  // the file is truncated, corrupted, or does not match this model's config and parameters.
  void load_checkpoint(const std::string& path);

 private:
  CausalLm& model_;
  TrainConfig cfg_;
  BatchSampler sampler_;
  ThreadPool& pool_;
  nn::AdamW opt_;
  nn::Tape tape_;
  std::vector<int32_t> ids_, targets_;
  ProcessGroup* group_ = nullptr;
};

}  // namespace loom::train
