// The adaptation report's measures (report.h): bits per byte, tokens per word and the original
// rows' digests. stories260K's scores of held-out FOLDOC entries (one longer than the context, so
// windows are exercised) and of the TinyStories sample equal PyTorch's
// (tests/reference/adapt/adapt_report_golden.py); an extended model keeps the digests and lowers the
// tokens per word of domain text.
#include "adapt/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "adapt/extend.h"
#include "core/mapped_file.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::adapt {
namespace {

std::string stories(const char* f) {
  return test::data_path(std::string("models/stories260K/") + f);
}

std::vector<std::string> heldout(size_t n) {
  std::vector<std::string> all = read_lines(test::data_path("corpora/foldoc/foldoc.tsv"));
  std::vector<std::string> out;
  for (size_t i = 0; i < all.size() && out.size() < n; ++i)
    if ((i + 1) % 10 == 0) out.push_back(all[i]);
  return out;
}

void expect_score(const TextScore& got, const nlohmann::json& want, const char* what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(got.docs, want["docs"].get<int64_t>());
  EXPECT_EQ(got.bytes, want["bytes"].get<int64_t>());
  EXPECT_EQ(got.words, want["words"].get<int64_t>());
  EXPECT_EQ(got.tokens, want["tokens"].get<int64_t>());
  const double bits = want["nll_bits"].get<double>();
  EXPECT_NEAR(got.nll_bits, bits, 1e-5 * bits);
}

TEST(Report, BitsPerByteMatchesPyTorch) {
  LOOM_REQUIRE_DATA(stories("stories260K.bin"));
  auto g = test::load_golden_json("adapt/adapt_report.json");
  auto model = models::load_model(stories("stories260K.bin"));
  auto tok = text::load_tokenizer(stories("tok512.model"));
  ThreadPool pool(2);
  auto docs = heldout(g["n_heldout"].get<size_t>());
  TextScore h = score_text(*model, *tok, docs, pool);
  expect_score(h, g["heldout"], "held-out FOLDOC");
  TextScore s =
      score_text(*model, *tok,
                 read_lines(test::data_path("corpora/tinystories/tinystories_sample.txt")), pool);
  expect_score(s, g["general"], "TinyStories");
  // Domain text is much harder for a TinyStories model than TinyStories itself.
  EXPECT_GT(h.bits_per_byte(), 2 * s.bits_per_byte());
  std::printf(
      "[ report ] stories260K bits/byte: FOLDOC held-out %.4f, TinyStories %.4f; "
      "tokens/word %.4f\n",
      h.bits_per_byte(), s.bits_per_byte(), h.tokens_per_word());
}

TEST(Report, ExtendedModelKeepsDigestsAndShortensDomainText) {
  auto base = models::load_model(stories("stories260K.bin"));
  GrowOptions grow;
  const std::vector<std::string> terms = {"language", "programming", "system", "computer",
                                          "function"};
  ExtendResult r = extend_model(*base, text::load_tokenizer(stories("tok512.model")), terms, grow);
  namespace fs = std::filesystem;
  const std::string dir =
      (fs::temp_directory_path() / ("loom_report_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  save_extended(dir, r);
  auto adapted = models::load_model(dir);
  RowDigests d0 = original_row_digests(*base, 512), d1 = original_row_digests(*adapted, 512);
  EXPECT_EQ(d0.embed, d1.embed);
  EXPECT_EQ(d0.embed, r.embed_sha256);
  EXPECT_TRUE(d0.head.empty());  // tied
  // One more row of the adapted model's digest would differ.
  RowDigests d513 = original_row_digests(*adapted, 513);
  EXPECT_NE(d513.embed, d1.embed);

  ThreadPool pool(2);
  auto docs = heldout(20);
  auto tok0 = text::load_tokenizer(stories("tok512.model"));
  auto tok1 = text::load_tokenizer(dir + "/tokenizer.json");
  TextScore a = score_text(*base, *tok0, docs, pool), b = score_text(*adapted, *tok1, docs, pool);
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(a.words, b.words);
  EXPECT_LT(b.tokens, a.tokens);
  EXPECT_LT(b.tokens_per_word(), a.tokens_per_word());
  EXPECT_GT(b.nll_bits, 0);
  fs::remove_all(dir);
}

TEST(Report, Errors) {
  auto model = models::load_model(stories("stories260K.bin"));
  ThreadPool pool(1);
  auto big = text::load_tokenizer(test::data_path("tokenizers/llama2/tokenizer.model"));
  EXPECT_THROW(score_text(*model, *big, {"x"}, pool), Error);
  EXPECT_THROW(original_row_digests(*model, 513), Error);
}

}  // namespace
}  // namespace loom::adapt
