// `loom train --arch lstm|gru|rnn_tanh|rnn_relu`: a word-level recurrent LM (train/rnn_lm_run.h)
// through `loom train`'s flags. Parsing and printing only.
#pragma once

#include <string>

#include "cli.h"

namespace loom::cli {

// Whether --arch names a recurrent cell rather than a decoder architecture.
bool is_recurrent_arch(const std::string& arch);
// The recurrent run of `loom train`; returns the exit status.
int run_train_recurrent(const Args& a);

}  // namespace loom::cli
