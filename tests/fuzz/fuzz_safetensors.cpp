// libFuzzer target: the safetensors reader, then building a model from whatever it accepted.
#include "model_reader_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return loom::fuzz::fuzz_model_reader(data, size, "input.safetensors", [](const std::string& p) {
    return loom::io::read_safetensors(p);
  });
}
