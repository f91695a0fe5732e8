// A config.json for a new T5 or BART (`loom train --objective span|denoise --config`,
// train/mlm_run.h's seq2seq_config_json): the input is the file. Any input must end in success or
// loom::Error, and a config that parses must describe a model CausalLm can build (its sizes
// positive, its vocabulary the file's or the default 64).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "model_reader_fuzz.h"
#include "train/mlm_run.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = loom::fuzz::work_dir() + "/config.json";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  if (size > 0) std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    const loom::models::DecoderConfig c = loom::train::seq2seq_config_json(path, 64);
    if (c.dim < 1 || c.n_layers < 1 || c.n_heads < 1 || c.vocab_size < 1) std::abort();
    if (c.arch != "t5" && c.arch != "bart") std::abort();
  } catch (const loom::Error&) {
  }
  return 0;
}
