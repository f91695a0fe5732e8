// What a training run may change (`loom train --train ...`):
//   all             every base parameter
//   new-embeddings  only rows >= base_vocab of the token embedding and of an untied LM head
//                   (rows < base_vocab stay bit-identical: zero gradient, no weight decay, no
//                   optimiser state — Parameter::frozen_rows); everything else frozen
//   lora            only the LoRA adapters (base weights frozen)
//   new-embeddings,lora  both of the last two
#pragma once

#include <cstdint>
#include <string>

#include "models/causal_lm.h"

namespace loom::train {

struct TrainMode {
  bool all = false, new_embeddings = false, lora = false;
  std::string str() const;
};

// Parses "all", "new-embeddings", "lora", "new-embeddings,lora" (either order); anything else is
// a loom::Error listing the choices.
TrainMode parse_train_mode(const std::string& s);

// Sets trainable / frozen_rows / decay on model's parameters for mode. base_vocab (new-embeddings
// only) must be in [1, vocab_size); LoRA modes need a model built with LoRA adapters. Returns the
// number of trainable elements (frozen rows not counted).
int64_t apply_train_mode(models::CausalLm& model, const TrainMode& mode, int64_t base_vocab);

}  // namespace loom::train
