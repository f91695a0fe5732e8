// libFuzzer target: the safetensors reader, then building a model from whatever it accepted. Any
// input must end in success or loom::Error; crashes, leaks and sanitizer reports are bugs.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/tensor_map.h"
#include "models/transformer.h"

using namespace loom;

namespace {
// A private folder per process, so that no config.json or other file can sit beside the input.
const std::string& work_path() {
  static const std::string path = [] {
    char tmpl[] = "/tmp/loom_fuzz_XXXXXX";
    const char* dir = mkdtemp(tmpl);
    if (dir == nullptr) std::abort();
    return std::string(dir) + "/input.safetensors";
  }();
  return path;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = work_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  if (size > 0) std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    io::TensorMap m = io::read_safetensors(path);
    for (const auto& name : m.names()) (void)m.get(name).nbytes();
    auto model = models::build_model(std::move(m));
    (void)model->weight_bytes();
  } catch (const Error&) {
  }
  return 0;
}
