// Shared body of the model-file fuzz targets: write the input to a private file, read it with
// one reader, then build a model from whatever it accepted. Any input must end in success or
// loom::Error; crashes, leaks and sanitizer reports are bugs.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "io/tensor_map.h"
#include "models/model.h"

namespace loom::fuzz {

// A private folder per process, so that no config.json or other file can sit beside the input.
inline const std::string& work_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/loom_fuzz_XXXXXX";
    const char* d = mkdtemp(tmpl);
    if (d == nullptr) std::abort();
    return std::string(d);
  }();
  return dir;
}

template <typename Reader>
int fuzz_model_reader(const uint8_t* data, size_t size, const char* file_name, Reader read) {
  const std::string path = work_dir() + "/" + file_name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  if (size > 0) std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    io::TensorMap m = read(path);
    for (const auto& name : m.names()) (void)m.get(name).nbytes();
    auto model = models::build_model(std::move(m));
    (void)model->weight_bytes();
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace loom::fuzz
