// A tiny decoder config for the instruction/preference trainer tests (one layer, width 16).
#pragma once

#include <string>

#include "models/causal_lm.h"

namespace loom::train::test {

inline models::DecoderConfig tiny_decoder(const std::string& arch, int64_t vocab, int64_t context) {
  models::DecoderConfig c;
  c.arch = arch;
  c.vocab_size = vocab;
  c.context_length = context;
  c.dim = 16;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = arch == "llama" ? 1 : 0;
  c.hidden_dim = 32;
  return c;
}

}  // namespace loom::train::test
