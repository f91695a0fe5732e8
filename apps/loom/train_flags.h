// Pieces the training commands (`loom train`, `loom train-embed`) share: paths of --init models
// and flag values.
#pragma once

#include <string>
#include <vector>

#include "nn/optim.h"

namespace loom::cli {

bool file_exists(const std::string& p);
bool is_dir(const std::string& p);
std::string base_name(const std::string& p);
// "a,b,,c" -> {"a", "b", "c"}
std::vector<std::string> split_commas(const std::string& s);
// --decay cosine|linear|constant; a UsageError otherwise.
nn::Decay decay_of(const std::string& s);

}  // namespace loom::cli
