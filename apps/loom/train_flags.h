// Flag values the training commands (`loom train`, `loom train-embed`) share.
#pragma once

#include <string>
#include <vector>

#include "nn/optim.h"

namespace loom::cli {

// "a,b,,c" -> {"a", "b", "c"}
std::vector<std::string> split_commas(const std::string& s);
// --decay cosine|linear|constant; a UsageError otherwise.
nn::Decay decay_of(const std::string& s);

}  // namespace loom::cli
