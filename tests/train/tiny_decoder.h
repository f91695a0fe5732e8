// Tiny decoder configs for the trainer tests: one layer of width 16, or the config a PyTorch
// golden of tests/reference/nn/train_golden.py's models was written with.
#pragma once

#include <string>

#include "golden_tensors.h"
#include "models/causal_lm.h"

namespace loom::train::test {

// The golden helpers, reachable as test::X from namespace loom::train too.
using loom::test::Golden;
using loom::test::golden_path;
using loom::test::load_golden;
using loom::test::rel_err;

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

// The config of a golden written by tests/reference (train_golden.py's config keys: vocab, d,
// layers, heads, ff, eps; llama: kv_heads, theta; gpt2: max_seq).
inline models::DecoderConfig golden_decoder(const loom::test::Golden& g, const std::string& arch) {
  auto i = [&](const char* k) { return std::stoll(g.config.at(k)); };
  models::DecoderConfig c;
  c.arch = arch;
  c.vocab_size = i("vocab");
  c.dim = i("d");
  c.n_layers = i("layers");
  c.n_heads = i("heads");
  c.hidden_dim = i("ff");
  c.norm_eps = std::stof(g.config.at("eps"));
  if (c.arch == "gpt2") {
    c.context_length = i("max_seq");
    c.n_kv_heads = c.n_heads;
  } else {
    c.context_length = 64;
    c.n_kv_heads = i("kv_heads");
    c.rope.theta = std::stof(g.config.at("theta"));
  }
  return c;
}

}  // namespace loom::train::test
