// read_model_file: the format is detected from the file or folder.
#include <gtest/gtest.h>

#include <cstring>

#include "core/mapped_file.h"
#include "io/tensor_map.h"
#include "io_test_util.h"
#include "test_util.h"

namespace loom::io {
namespace {

TEST(ModelFile, DetectsTheFormat) {
  EXPECT_EQ(read_model_file(stories("stories260K.gguf")).format(), "gguf");
  EXPECT_EQ(read_model_file(stories("stories260K.bin")).format(), "llama2c");
  EXPECT_EQ(read_model_file(test::golden_path("models/infer_models/gpt2_hf")).format(), "safetensors");
  std::string msg = error_of([] { read_model_file("/nonexistent/model.gguf"); });
  EXPECT_NE(msg.find("/nonexistent/model.gguf"), std::string::npos);
}

}  // namespace
}  // namespace loom::io
