// Flag values the training commands (`loom train`, `loom train-embed`, recurrent `loom train`)
// share.
#pragma once

#include <string>
#include <vector>

#include "nn/optim.h"

namespace loom::cli {

// "a,b,,c" -> {"a", "b", "c"}
std::vector<std::string> split_commas(const std::string& s);
// --decay cosine|linear|constant; a UsageError otherwise.
nn::Decay decay_of(const std::string& s);

class Args;
// --lr (default lr), --min-lr (default lr / 10), --warmup (default warmup), --decay (cosine).
nn::Schedule schedule_flags(const Args& a, double lr, int64_t warmup);

}  // namespace loom::cli
