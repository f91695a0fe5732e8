// Flag values the training commands (`loom train`, `loom train-embed`, recurrent `loom train`)
// share.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nn/optim.h"
#include "train/run_folder.h"
#include "train/train_mode.h"
#include "train/trainer.h"

namespace loom::cli {

// "a,b,,c" -> {"a", "b", "c"}
std::vector<std::string> split_commas(const std::string& s);
// --decay cosine|linear|constant; a UsageError otherwise.
nn::Decay decay_of(const std::string& s);

class Args;
// --lr (default lr), --min-lr (default lr / 10), --warmup (default warmup), --decay (cosine).
nn::Schedule schedule_flags(const Args& a, double lr, int64_t warmup);
// --train (default all) and --lora-rank/--lora-alpha/--lora-targets (only with a LoRA mode).
void train_mode_flags(const Args& a, train::TrainMode& mode,
                      std::optional<train::LoraOptions>& lora);
// --batch (default batch), --accum, the schedule (default lr, warmup), --wd (default wd),
// --clip, --seed, --bf16.
void train_config_flags(const Args& a, train::TrainConfig& tc, int64_t batch, double lr,
                        int64_t warmup, double wd);

}  // namespace loom::cli
