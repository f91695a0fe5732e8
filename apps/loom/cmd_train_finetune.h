// `loom train --task sft|dpo`: fine-tuning on JSONL instruction or preference data through
// `loom train`'s flags and run folder (train/finetune_run.h). Parsing and printing only.
#pragma once

#include "cli.h"

namespace loom::cli {

// The fine-tuning run of `loom train` (--task other than clm); returns the exit status.
int run_train_finetune(const Args& a);

}  // namespace loom::cli
