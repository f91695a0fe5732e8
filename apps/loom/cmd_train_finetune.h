// `loom train --task sft|dpo|reward|classify` and `--objective mlm`: fine-tuning on JSONL instruction or preference data through
// `loom train`'s flags and run folder (train/finetune_run.h). Parsing and printing only.
#pragma once

#include "cli.h"

namespace loom::cli {

// The fine-tuning run of `loom train` (--task other than clm); returns the exit status.
int run_train_finetune(const Args& a);
// Masked-LM pre-training of an encoder (`loom train --objective mlm`, cmd_train_mlm.cpp).
int run_train_mlm(const Args& a);

}  // namespace loom::cli
