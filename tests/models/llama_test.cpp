// Llama on the real stories260K checkpoint: the llama2.c .bin and the GGUF give the same logits,
// and greedy decoding reproduces llama2.c's reference text (expected.json). Token ids are turned
// into text with a minimal reader of tok512.bin here; the generate tests use the real tokenizer.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "models/model.h"
#include "test_util.h"

namespace loom::models {
namespace {

std::vector<std::string> read_tok512(const std::string& path) {
  std::string b = read_file(path);
  std::vector<std::string> pieces;
  size_t p = 4;
  while (p < b.size()) {
    int32_t len;
    std::memcpy(&len, b.data() + p + 4, 4);
    pieces.push_back(b.substr(p + 8, static_cast<size_t>(len)));
    p += 8 + static_cast<size_t>(len);
  }
  return pieces;
}

std::string decode_llama2c(const std::vector<std::string>& vocab, int prev, int tok) {
  std::string s = vocab[static_cast<size_t>(tok)];
  if (prev == 1 && !s.empty() && s[0] == ' ') s = s.substr(1);
  unsigned byte;
  if (s.size() == 6 && std::sscanf(s.c_str(), "<0x%02X>", &byte) == 1)
    s = std::string(1, static_cast<char>(byte));
  return s;
}

int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

TEST(Llama, Stories260KBinAndGgufAgree) {
  const std::string dir = test::data_path("models/stories260K/");
  LOOM_REQUIRE_DATA(dir + "stories260K.bin");
  auto a = load_model(dir + "stories260K.bin");
  auto b = load_model(dir + "stories260K.gguf");
  EXPECT_EQ(a->config().describe(), "llama dim=64 layers=5 heads=8/4 hidden=172 vocab=512 ctx=512");
  EXPECT_TRUE(a->config().tied_head);
  EXPECT_EQ(b->config().n_kv_heads, 4);
  ThreadPool pool(2);
  Session sa(*a), sb(*b);
  std::vector<int32_t> toks = {1, 403, 407, 261, 378, 10, 300};
  a->forward(sa, pool, toks.data(), static_cast<int64_t>(toks.size()), true);
  b->forward(sb, pool, toks.data(), static_cast<int64_t>(toks.size()), true);
  ASSERT_EQ(sa.logits().size(), sb.logits().size());
  for (size_t i = 0; i < sa.logits().size(); ++i) ASSERT_NEAR(sa.logits()[i], sb.logits()[i], 1e-4);
}

TEST(Llama, Stories260KPromptBatchEqualsStepByStep) {
  const std::string dir = test::data_path("models/stories260K/");
  LOOM_REQUIRE_DATA(dir + "stories260K.bin");
  auto m = load_model(dir + "stories260K.bin");
  ThreadPool pool(2);
  std::vector<int32_t> toks = {1, 403, 407, 261, 378, 10, 300, 290, 17, 5};
  Session all(*m), one(*m), chunked(*m, 0, 3);
  m->forward(all, pool, toks.data(), 10, true);
  m->forward(chunked, pool, toks.data(), 10, true);
  for (int i = 0; i < 10; ++i) {
    m->forward(one, pool, toks.data() + i, 1);
    for (int64_t v = 0; v < 512; ++v) {
      ASSERT_NEAR(one.logits()[v], all.logits()[i * 512 + v], 1e-4) << "pos " << i;
      ASSERT_NEAR(chunked.logits()[i * 512 + v], all.logits()[i * 512 + v], 1e-4);
    }
  }
}

TEST(Llama, ForwardHiddenEqualsTheHiddenStatesOfAFullForwardAndSkipsTheHead) {
  const std::string dir = test::data_path("models/stories260K/");
  LOOM_REQUIRE_DATA(dir + "stories260K.bin");
  auto m = load_model(dir + "stories260K.bin");
  ThreadPool pool(1);
  std::vector<int32_t> toks = {1, 403, 407, 261, 378, 10, 300, 290, 17, 5};
  Session full(*m), hid(*m);
  m->forward(full, pool, toks.data(), 10, true);
  m->forward_hidden(hid, pool, toks.data(), 10);
  EXPECT_EQ(hid.position(), 10);
  EXPECT_TRUE(hid.logits().empty());  // the head never ran
  const float* a = Model::hidden_states(full);
  const float* b = Model::hidden_states(hid);
  for (int64_t i = 0; i < 10 * 64; ++i) ASSERT_EQ(a[i], b[i]) << i;
  EXPECT_THROW(m->forward_hidden(hid, pool, toks.data(), 0), Error);
}

TEST(Llama, Stories260KGreedyMatchesLlama2c) {
  const std::string dir = test::data_path("models/stories260K/");
  LOOM_REQUIRE_DATA(dir + "expected.json");
  auto expected = nlohmann::json::parse(read_file(dir + "expected.json"));
  auto vocab = read_tok512(dir + "tok512.bin");
  ASSERT_EQ(vocab.size(), 512u);
  for (const char* file : {"stories260K.bin", "stories260K.gguf"}) {
    auto m = load_model(dir + file);
    ThreadPool pool(1);
    for (int c = 0; c < 2; ++c) {
      const auto& cs = expected["cases"][c];
      const int steps = cs["args"]["steps"];
      Session s(*m);
      int tok = 1;
      std::string text;
      for (int pos = 0; pos < steps; ++pos) {
        m->forward(s, pool, &tok, 1);
        int next = argmax(s.logits());
        if (next == 1) break;
        text += decode_llama2c(vocab, tok, next);
        tok = next;
      }
      EXPECT_EQ(text, cs["expected_text"].get<std::string>()) << file << " case " << c;
    }
  }
}

}  // namespace
}  // namespace loom::models
