// libFuzzer target: the llama2c reader, then building a model from whatever it accepted.
#include "model_reader_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return loom::fuzz::fuzz_model_reader(data, size, "input.bin", [](const std::string& p) {
    return loom::io::read_llama2c(p);
  });
}
