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

// The new rows only add outputs when the inputs are base-tokenizer ids, so for any init method
// KL(p_base || p_extended) at a position equals -log(1 - q), q the extended model's probability of
// the new tokens there (p_extended(i) = p_base(i) (1 - q) for i < V). Checked position by position
// through the mean over 8 held-out documents; an extension by zero terms does not drift.
TEST(Report, DriftIsTheProbabilityMassOfTheNewRows) {
  LOOM_REQUIRE_DATA(stories("stories260K.bin"));
  auto base = models::load_model(stories("stories260K.bin"));
  auto tok = text::load_tokenizer(stories("tok512.model"));
  const std::vector<std::string> terms = {"language", "programming", "system", "computer"};
  ThreadPool pool(2);
  auto docs = heldout(8);
  for (InitMethod m : {InitMethod::SubtokenMean, InitMethod::Normal}) {
    GrowOptions grow;
    grow.method = m;
    ExtendResult r = extend_model(*base, text::load_tokenizer(stories("tok512.model")), terms, grow);
    auto ext = extended_model(r);
    const Drift d = next_token_drift(*base, *ext, *tok, docs, pool);
    // -log(1 - q) from the extended model alone, over the same positions.
    double want = 0;
    int64_t positions = 0;
    models::Session s(*ext);
    for (const std::string& doc : docs) {
      std::vector<int32_t> body, ids = {tok->bos_id()};
      tok->encode_ids(doc, false, body);
      ids.insert(ids.end(), body.begin(), body.end());
      const auto n = static_cast<int64_t>(ids.size());
      ASSERT_LE(n, ext->context_length());
      s.reset();
      ext->forward(s, pool, ids.data(), n, true);
      for (int64_t k = 0; k + 1 < n; ++k, ++positions) {
        const float* l = s.logits().data() + k * 516;
        double mx = l[0], z = 0, znew = 0;
        for (int i = 1; i < 516; ++i) mx = std::max(mx, static_cast<double>(l[i]));
        for (int i = 0; i < 516; ++i) (i < 512 ? z : znew) += std::exp(l[i] - mx);
        want += std::log1p(znew / z);
      }
    }
    ASSERT_EQ(d.positions, positions);
    EXPECT_NEAR(d.mean_kl(), want / static_cast<double>(positions), 1e-6 * d.mean_kl() + 1e-12)
        << init_method_name(m);
    EXPECT_GT(d.mean_kl(), 0);
  }
  ExtendResult none = extend_model(*base, text::load_tokenizer(stories("tok512.model")), {}, {});
  // Zero terms: the same function, up to rounding (the extended model runs Hugging Face's
  // half-split rope layout, the llama2.c file the interleaved one).
  EXPECT_LT(next_token_drift(*base, *extended_model(none), *tok, docs, pool).kl_max, 1e-9);
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
