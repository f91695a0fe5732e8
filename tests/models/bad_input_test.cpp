// Bad models and bad requests give one clear loom::Error naming what is wrong.
#include <gtest/gtest.h>

#include "io/tensor_map.h"
#include "models/model.h"
#include "test_util.h"

namespace loom::models {
namespace {

using test::error_of;

// The golden Llama GGUF with one change applied to its tensor map.
template <typename Edit>
std::string build_error(Edit&& edit) {
  io::TensorMap src = io::read_gguf(test::golden_path("models/infer_models/llama.gguf"));
  io::TensorMap m(src.source(), "gguf");
  for (const auto& [k, v] : src.meta()) m.set_meta(k, v);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& n : src.names()) tensors.emplace_back(n, src.get(n));
  edit(m, tensors);
  for (auto& [n, t] : tensors) m.add(n, t);
  return error_of([&] { build_model(std::move(m)); });
}

TEST(BadInput, ModelErrorsNameTheProblem) {
  using Tensors = std::vector<std::pair<std::string, Tensor>>;
  std::string e = build_error([](io::TensorMap& m, Tensors&) {
    m.set_meta("general.architecture", io::MetaValue::of_string("mamba"));
  });
  EXPECT_NE(e.find("unknown architecture 'mamba'"), std::string::npos) << e;
  EXPECT_NE(e.find("llama.gguf"), std::string::npos) << e;

  e = build_error([](io::TensorMap&, Tensors& t) {
    for (auto& [n, x] : t)
      if (n == "blk.1.attn_k.weight") x = Tensor::zeros({32, 32});
  });
  EXPECT_NE(e.find("'blk.1.attn_k.weight' has shape (32, 32), expected (16, 32)"),
            std::string::npos)
      << e;

  e = build_error([](io::TensorMap&, Tensors& t) {
    for (auto& [n, x] : t)
      if (n == "blk.0.ffn_up.weight") x = Tensor::zeros({64, 32}, DType::I32);
  });
  EXPECT_NE(e.find("'blk.0.ffn_up.weight' has type i32"), std::string::npos) << e;

  e = build_error([](io::TensorMap&, Tensors& t) {
    std::erase_if(t, [](const auto& p) { return p.first == "output_norm.weight"; });
  });
  EXPECT_NE(e.find("missing tensor 'output_norm.weight'"), std::string::npos) << e;

  io::TensorMap src = io::read_gguf(test::golden_path("models/infer_models/llama.gguf"));
  e = build_error([](io::TensorMap& m, Tensors&) {
    m.set_meta("llama.attention.head_count_kv", io::MetaValue::of_int(3));
  });
  EXPECT_NE(e.find("multiple of the key/value head count 3"), std::string::npos) << e;
}

TEST(BadInput, ContextAndTokenLimits) {
  auto m = load_model(test::golden_path("models/infer_models/llama.gguf"));
  ThreadPool pool(1);
  Session s(*m);
  std::vector<int32_t> ids(65, 3);
  std::string e = error_of([&] { m->forward(s, pool, ids.data(), 65); });
  EXPECT_NE(e.find("65 tokens exceeds the context of 64"), std::string::npos) << e;
  int32_t bad = 61;
  e = error_of([&] { m->forward(s, pool, &bad, 1); });
  EXPECT_NE(e.find("token id 61"), std::string::npos) << e;
  // A failed call leaves the session usable.
  m->forward(s, pool, ids.data(), 64);
  EXPECT_EQ(s.position(), 64);
  e = error_of([&] { m->forward(s, pool, ids.data(), 1); });
  EXPECT_NE(e.find("exceeds the context"), std::string::npos) << e;
}

}  // namespace
}  // namespace loom::models
