#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "adapt/grow.h"
#include "adapt/mine_terms.h"
#include "core/rng.h"
#include "golden_json.h"

namespace loom::adapt {
namespace {

Tensor random_matrix(int64_t v, int64_t d, uint64_t seed) {
  Tensor t = Tensor::empty({v, d});
  Rng rng(seed);
  for (int64_t i = 0; i < v * d; ++i) t.f32()[i] = rng.normal() * 0.5f + 0.1f * static_cast<float>(i % d);
  return t;
}

TEST(Grow, OriginalRowsBitIdenticalForEveryMethod) {
  Tensor old = random_matrix(50, 8, 1);
  std::string before = rows_sha256(old.view(), 0, 50);
  for (auto m : {InitMethod::Normal, InitMethod::Mean, InitMethod::MeanCov, InitMethod::MeanCovFull,
                 InitMethod::SubtokenMean}) {
    GrowOptions o;
    o.method = m;
    Tensor grown = grow_rows(old.view(), {{1, 2}, {3}, {}}, o);
    ASSERT_EQ(grown.shape(), (Shape{53, 8}));
    EXPECT_EQ(std::memcmp(grown.data(), old.data(), 50 * 8 * sizeof(float)), 0);
    EXPECT_EQ(rows_sha256(grown.view(), 0, 50), before) << init_method_name(m);
    EXPECT_NE(rows_sha256(grown.view(), 0, 51), before);
    for (int64_t i = 50 * 8; i < 53 * 8; ++i) EXPECT_TRUE(std::isfinite(grown.f32()[i]));
  }
}

TEST(Grow, SubtokenMeanAndMeanAreExact) {
  Tensor old = random_matrix(10, 4, 2);
  GrowOptions o;
  Tensor g = grow_rows(old.view(), {{2, 5, 5}, {}}, o);
  for (int j = 0; j < 4; ++j) {
    double want = (old.f32()[2 * 4 + j] + 2.0 * old.f32()[5 * 4 + j]) / 3.0;
    EXPECT_NEAR(g.f32()[10 * 4 + j], want, 1e-6);
    double mean = 0;
    for (int r = 0; r < 10; ++r) mean += old.f32()[r * 4 + j];
    EXPECT_NEAR(g.f32()[11 * 4 + j], mean / 10, 1e-6);  // empty sub-token list -> mean
  }
  EXPECT_THROW(grow_rows(old.view(), {{10}}, o), Error);
}

TEST(Grow, MeanCovFullSamplesFollowTheRowDistribution) {
  // Rows with a strong correlation between dims 0 and 1; samples must reproduce it.
  const int64_t v = 2000, d = 3;
  Tensor old = Tensor::empty({v, d});
  Rng rng(3);
  for (int64_t r = 0; r < v; ++r) {
    float a = rng.normal(), b = rng.normal();
    old.f32()[r * d] = 1.0f + a;
    old.f32()[r * d + 1] = -2.0f + 0.9f * a + 0.1f * b;
    old.f32()[r * d + 2] = 0.5f * rng.normal();
  }
  GrowOptions o;
  o.method = InitMethod::MeanCovFull;
  o.seed = 7;
  std::vector<std::vector<int32_t>> terms(4000);
  Tensor g = grow_rows(old.view(), terms, o);
  double m0 = 0, m1 = 0, c01 = 0, v2 = 0;
  const float* s = g.f32() + v * d;
  for (int i = 0; i < 4000; ++i) {
    m0 += s[i * d];
    m1 += s[i * d + 1];
  }
  m0 /= 4000;
  m1 /= 4000;
  for (int i = 0; i < 4000; ++i) {
    c01 += (s[i * d] - m0) * (s[i * d + 1] - m1);
    v2 += s[i * d + 2] * s[i * d + 2];
  }
  EXPECT_NEAR(m0, 1.0, 0.08);
  EXPECT_NEAR(m1, -2.0, 0.08);
  EXPECT_NEAR(c01 / 4000, 0.9, 0.1);
  EXPECT_NEAR(v2 / 4000, 0.25, 0.05);
  // --cov-scale s draws from N(mean, s * cov): the spread shrinks by sqrt(s).
  o.cov_scale = 0.01;
  Tensor h = grow_rows(old.view(), terms, o);
  double v2s = 0;
  for (int i = 0; i < 4000; ++i) v2s += std::pow(h.f32()[(v + i) * d + 2], 2);
  EXPECT_NEAR(v2s / 4000, 0.0025, 0.0005);
  o.cov_scale = 0;
  EXPECT_THROW(grow_rows(old.view(), terms, o), Error);
}

// A golden case's "rows" as a (v, d) tensor.
Tensor golden_rows(const nlohmann::json& c) {
  const auto& rows = c["rows"];
  const auto v = static_cast<int64_t>(rows.size()), d = static_cast<int64_t>(rows[0].size());
  Tensor t = Tensor::empty({v, d});
  for (int64_t r = 0; r < v; ++r)
    for (int64_t j = 0; j < d; ++j) t.f32()[r * d + j] = rows[r][j].get<float>();
  return t;
}

// Hugging Face's mean resizing (tests/reference/adapt/mean_resizing_golden.py): 20000 rows drawn
// by --init mean-cov have the mean and 1e-9 x covariance of the PyTorch formula, within what
// 20000 draws can tell (5 standard errors), and so do torch's own draws (a check on the bound).
TEST(Grow, MeanCovIsHuggingFacesMeanResizing) {
  const nlohmann::json g = test::load_golden_json("adapt/mean_resizing.json");
  const auto& c = g["full_rank"];
  ASSERT_TRUE(c["positive_definite"].get<bool>());
  Tensor old = golden_rows(c);
  const int64_t v = old.shape()[0], d = old.shape()[1], n = 20000;
  GrowOptions o;
  o.method = InitMethod::MeanCov;
  o.seed = 3;
  Tensor grown = grow_rows(old.view(), std::vector<std::vector<int32_t>>(n), o);
  const float* s = grown.f32() + v * d;
  std::vector<double> m(static_cast<size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) m[j] += s[i * d + j] / static_cast<double>(n);
  for (int64_t a = 0; a < d; ++a) {
    const double var_a = c["scaled_cov"][a][a].get<double>();
    const double mean_tol = 5 * std::sqrt(var_a / n) + 1e-7 * std::abs(m[a]);  // + f32 rounding
    EXPECT_NEAR(m[a], c["mean"][a].get<double>(), mean_tol) << "dim " << a;
    EXPECT_NEAR(c["draw_mean"][a].get<double>(), c["mean"][a].get<double>(), mean_tol);
    for (int64_t b = 0; b <= a; ++b) {
      double cov = 0;
      for (int64_t i = 0; i < n; ++i) cov += (s[i * d + a] - m[a]) * (s[i * d + b] - m[b]);
      cov /= static_cast<double>(n);
      const double want = c["scaled_cov"][a][b].get<double>();
      const double tol = 5 * std::sqrt((var_a * c["scaled_cov"][b][b].get<double>() + want * want) / n);
      EXPECT_NEAR(cov, want, tol) << "cov " << a << "," << b;
      EXPECT_NEAR(c["draw_cov"][a][b].get<double>(), want, tol);
    }
  }
}

// When 1e-9 x covariance is not positive definite (a constant column), every new row is the mean,
// as Hugging Face falls back; the mean to float rounding (HF averages in float32, Loom in double).
TEST(Grow, MeanCovFallsBackToTheMeanLikeHuggingFace) {
  const nlohmann::json g = test::load_golden_json("adapt/mean_resizing.json");
  const auto& c = g["singular"];
  ASSERT_FALSE(c["positive_definite"].get<bool>());
  Tensor old = golden_rows(c);
  const int64_t v = old.shape()[0], d = old.shape()[1];
  GrowOptions o;
  o.method = InitMethod::MeanCov;
  Tensor grown = grow_rows(old.view(), std::vector<std::vector<int32_t>>(3), o);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const float want = c["mean"][j].get<float>();
      EXPECT_NEAR(grown.f32()[(v + i) * d + j], want, 2e-7 * std::max(1.0f, std::abs(want)));
    }
}

TEST(Grow, NormalUsesStdAndSeed) {
  Tensor old = random_matrix(4, 256, 4);
  GrowOptions o;
  o.method = InitMethod::Normal;
  o.std = 0.02f;
  o.seed = 11;
  Tensor a = grow_rows(old.view(), std::vector<std::vector<int32_t>>(8), o);
  Tensor b = grow_rows(old.view(), std::vector<std::vector<int32_t>>(8), o);
  EXPECT_EQ(rows_sha256(a.view(), 4, 12), rows_sha256(b.view(), 4, 12));
  double ss = 0;
  for (int64_t i = 4 * 256; i < 12 * 256; ++i) ss += a.f32()[i] * a.f32()[i];
  EXPECT_NEAR(std::sqrt(ss / (8 * 256)), 0.02, 0.002);
  EXPECT_THROW(init_method_from_name("zeros"), Error);
}

TEST(MineTerms, SplitWordsTrimsOuterPunctuationOnly) {
  auto w = split_words("  (TCP/IP) stacks, C++ and \"X.25\".");
  ASSERT_EQ(w.size(), 5u);
  EXPECT_EQ(w[0], "TCP/IP");
  EXPECT_EQ(w[1], "stacks");
  EXPECT_EQ(w[2], "C++");
  EXPECT_EQ(w[4], "X.25");
}

TEST(MineTerms, RanksByTokensSavedAndSkipsSingleTokens) {
  // A toy tokenizer: known words are one piece, anything else one piece per byte.
  std::set<std::string> vocab = {"the", "a", "of", "protocol"};
  auto pieces_of = [&](const std::string& t) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < t.size()) {
      size_t j = t.find(' ', i);
      if (j == std::string::npos) j = t.size();
      std::string w = t.substr(i, j - i);
      if (vocab.count(w)) out.push_back(w);
      else
        for (char c : w) out.push_back(std::string(1, c));
      i = j + 1;
    }
    return out;
  };
  std::vector<std::string> lines;
  for (int i = 0; i < 10; ++i) lines.push_back("the ethernet protocol of the kernel");
  for (int i = 0; i < 30; ++i) lines.push_back("a bit");
  MineOptions o;
  o.top = 3;
  o.max_words = 1;
  o.min_freq = 5;
  auto terms = mine_terms(lines, pieces_of, o);
  ASSERT_EQ(terms.size(), 3u);
  // bit: 30 x 2 = 60; ethernet: 10 x 7 = 70; kernel: 10 x 5 = 50. "protocol"/"the" are one piece.
  EXPECT_EQ(terms[0].text, "ethernet");
  EXPECT_EQ(terms[0].score, 70);
  EXPECT_EQ(terms[1].text, "bit");
  EXPECT_EQ(terms[2].text, "kernel");
  for (const auto& t : terms) EXPECT_NE(t.text, "protocol");
  o.max_words = 2;
  o.top = 1;
  auto phrases = mine_terms(lines, pieces_of, o);
  ASSERT_EQ(phrases.size(), 1u);
  EXPECT_EQ(phrases[0].text, "ethernet protocol");  // 10 x (8 + 1 - 1) = 80
  EXPECT_EQ(phrases[0].score, 80);
}

}  // namespace
}  // namespace loom::adapt
