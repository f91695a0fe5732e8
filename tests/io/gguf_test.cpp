// GGUF reader on real files, the writer's round trip, and bad input: every truncation and
// corruption gives one loom::Error naming the file and the field or tensor, never a crash.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "core/mapped_file.h"
#include "io/tensor_map.h"
#include "io_test_util.h"
#include "test_util.h"

namespace loom::io {
namespace {

TEST(Gguf, ReadsStories260K) {
  LOOM_REQUIRE_DATA(stories("stories260K.gguf"));
  TensorMap m = read_gguf(stories("stories260K.gguf"));
  EXPECT_EQ(m.size(), 48u);
  EXPECT_EQ(m.meta_string("general.architecture"), "llama");
  EXPECT_EQ(m.meta_int("llama.embedding_length"), 64);
  EXPECT_EQ(m.meta_int("llama.attention.head_count_kv"), 4);
  EXPECT_EQ(m.meta_int("llama.context_length"), 2048);
  EXPECT_EQ(m.meta_string("tokenizer.ggml.model"), "llama");
  const MetaValue* toks = m.find_meta("tokenizer.ggml.tokens");
  ASSERT_NE(toks, nullptr);
  EXPECT_EQ(toks->array.size(), 512u);
  EXPECT_EQ(toks->array[1].s, "<s>");
  const Tensor& e = m.get("token_embd.weight", Shape({512, 64}));
  EXPECT_TRUE(e.is_mapped());
  // The README: tensor data starts at byte 14176 and equals the .bin's.
  auto file = MappedFile::open(stories("stories260K.gguf"));
  EXPECT_GE(static_cast<const uint8_t*>(e.data()) - file->data(), 14176);
  TensorMap b = read_llama2c(stories("stories260K.bin"));
  for (const char* name : {"token_embd.weight", "blk.0.attn_q.weight", "blk.4.ffn_down.weight",
                           "output_norm.weight"}) {
    const Tensor& x = m.get(name);
    const Tensor& y = b.get(name);
    ASSERT_EQ(x.shape(), y.shape()) << name;
    EXPECT_EQ(std::memcmp(x.data(), y.data(), x.nbytes()), 0) << name;
  }
}

TEST(Gguf, TruncationsAreErrorsNamingTheFile) {
  std::string bytes = read_file(stories("stories260K.gguf"));
  for (size_t cut : {size_t{3}, size_t{8}, size_t{23}, size_t{100}, size_t{2000}, size_t{9000},
                     size_t{14000}, size_t{14176}, size_t{600000}, bytes.size() - 1}) {
    std::string p = temp_file("trunc.gguf", bytes.substr(0, cut));
    std::string msg = error_of([&] { read_gguf(p); });
    EXPECT_NE(msg.find(p), std::string::npos) << "cut " << cut << ": " << msg;
  }
}

// Finds a tensor info by name in a GGUF file: returns the offset just after the name.
size_t info_after_name(const std::string& bytes, const std::string& name) {
  std::string key;
  uint64_t n = name.size();
  key.append(reinterpret_cast<const char*>(&n), 8);
  key += name;
  size_t p = bytes.rfind(key);  // tensor infos come after the metadata
  EXPECT_NE(p, std::string::npos);
  return p + key.size();
}

TEST(Gguf, CorruptedFieldsAreNamed) {
  std::string good = read_file(test::golden_path("models/infer_models/llama.gguf"));
  auto check = [&](std::string bytes, const char* want) {
    std::string p = temp_file("bad.gguf", bytes);
    std::string msg = error_of([&] { read_gguf(p); });
    EXPECT_NE(msg.find(want), std::string::npos) << "want '" << want << "' in: " << msg;
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
  };
  std::string b = good;
  b[0] = 'X';
  check(b, "magic");
  b = good;
  b[4] = 9;
  check(b, "version");
  b = good;
  b[23] = 0x7f;  // kv count absurdly large
  check(b, "metadata_kv_count");
  size_t at = info_after_name(good, "blk.0.attn_q.weight");
  b = good;
  b[at] = 7;  // n_dims
  check(b, "n_dims");
  b = good;
  b[at + 4 + 16] = 99;  // type after 2 dims
  check(b, "type");
  b = good;
  b[at + 4 + 16 + 4] += 4;  // offset no longer aligned
  check(b, "aligned");
  b = good;
  b[at + 4 + 16 + 4 + 7] = 0x40;  // offset far past the end
  check(b, "past the end");
  b = good;
  b[at + 4] = 33;  // innermost dim 33: fine for f32 but shape no longer matches the model
  std::string p = temp_file("shape.gguf", b);
  TensorMap m = [&] {
    try {
      return read_gguf(p);
    } catch (const Error&) {
      return TensorMap();
    }
  }();
  // Either the reader (data range) or the shape check refuses it; never silently accepted.
  if (m.size() > 0) {
    std::string msg = error_of([&] { m.get("blk.0.attn_q.weight", Shape({32, 32})); });
    EXPECT_NE(msg.find("blk.0.attn_q.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected (32, 32)"), std::string::npos) << msg;
  }
}

TEST(GgufWriter, RoundTripKeepsMetadataTypesAndData) {
  TensorMap m = read_gguf(stories("stories260K.gguf"));
  std::string p = ::testing::TempDir() + "/rt.gguf";
  write_gguf(p, m);
  TensorMap r = read_gguf(p);
  EXPECT_EQ(r.meta().size(), m.meta().size());
  for (const auto& [k, v] : m.meta()) {
    const MetaValue* w = r.find_meta(k);
    ASSERT_NE(w, nullptr) << k;
    EXPECT_EQ(w->gguf_type, v.gguf_type) << k;
    EXPECT_EQ(w->array.size(), v.array.size()) << k;
    if (v.kind == MetaValue::Kind::String) EXPECT_EQ(w->s, v.s);
    if (v.is_number()) EXPECT_EQ(w->number(), v.number()) << k;
  }
  EXPECT_EQ(r.find_meta("tokenizer.ggml.tokens")->array[300].s,
            m.find_meta("tokenizer.ggml.tokens")->array[300].s);
  for (const auto& name : m.names())
    EXPECT_EQ(std::memcmp(r.get(name).data(), m.get(name).data(), m.get(name).nbytes()), 0) << name;
}

}  // namespace
}  // namespace loom::io
