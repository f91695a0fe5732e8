// Evaluation parity with gensim 4.2 on vectors gensim trained and wrote itself
// (tests/reference/wordvec/gensim_eval_golden.py): the files load byte for byte, and analogy
// accuracy (per section, OOV counts) and word-pair Spearman/Pearson/OOV ratio equal gensim's to
// 1e-6 on every file in ../shared/data/wordsim.
#include "wordvec/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/threads.h"
#include "test_util.h"
#include "text/unicode.h"
#include "wordvec/similar.h"
#include "wordvec/vectors.h"

namespace loom::wordvec {
namespace {

nlohmann::json golden() {
  return nlohmann::json::parse(read_file(test::golden_path("wordvec/gensim_eval_golden.json")));
}

Vectors golden_vectors() {
  return load_vectors(test::golden_path("wordvec/golden_vectors.bin"), VectorFormat::kWord2VecBinary);
}

TEST(GensimFiles, LoomReadsAndRewritesGensimsFilesByteForByte) {
  const std::string bin = read_file(test::golden_path("wordvec/golden_vectors.bin"));
  const std::string txt = read_file(test::golden_path("wordvec/golden_vectors_head.txt"));
  Vectors v = parse_vectors(bin, VectorFormat::kWord2VecBinary, "bin").vectors;
  EXPECT_EQ(v.size(), 3995);
  EXPECT_EQ(v.dim(), 24);
  EXPECT_EQ(format_vectors(v, VectorFormat::kWord2VecBinary, /*binary_newline=*/false), bin)
      << "gensim writes binary rows without a newline";
  Vectors head = parse_vectors(txt, VectorFormat::kWord2VecText, "txt").vectors;
  ASSERT_EQ(head.size(), 300);
  for (int64_t i = 0; i < head.size(); ++i) {
    ASSERT_EQ(head.word(i), v.word(i));
    ASSERT_EQ(std::memcmp(head.row(i), v.row(i), 24 * 4), 0) << "text row " << i;
  }
  EXPECT_EQ(format_vectors(head, VectorFormat::kWord2VecText), txt)
      << "both write each f32 as its shortest round-trip decimal";
}

TEST(GensimParity, AnalogiesEqualGensimPerSectionWithOovCounts) {
  LOOM_REQUIRE_DATA(test::data_path("wordsim/questions-words.txt"));
  Vectors v = golden_vectors();
  ThreadPool pool(2);
  const nlohmann::json g = golden();
  for (const auto& c : g["analogies"]) {
    EvalOptions o;
    o.restrict_vocab = c["restrict_vocab"];
    o.case_insensitive = c["case_insensitive"];
    auto r = evaluate_word_analogies_file(
        v, test::data_path("wordsim/" + c["file"].get<std::string>()), o, pool);
    SCOPED_TRACE("restrict " + std::to_string(o.restrict_vocab) + " case_insensitive " +
                 std::to_string(o.case_insensitive));
    EXPECT_EQ(r.questions, c["questions"].get<int64_t>());
    EXPECT_EQ(r.oov, c["oov"].get<int64_t>());
    const auto& secs = c["sections"];
    ASSERT_EQ(r.sections.size() + 1, secs.size());
    for (size_t i = 0; i < secs.size(); ++i) {
      const AnalogySection& s = i < r.sections.size() ? r.sections[i] : r.total;
      EXPECT_EQ(s.name, secs[i]["section"].get<std::string>());
      EXPECT_EQ(s.correct, secs[i]["correct"].get<int64_t>()) << s.name;
      EXPECT_EQ(s.incorrect, secs[i]["incorrect"].get<int64_t>()) << s.name;
    }
  }
}

void expect_close_or_nan(double loom, const nlohmann::json& gensim, const std::string& what) {
  if (gensim.is_null()) {
    EXPECT_TRUE(std::isnan(loom)) << what << " = " << loom << ", gensim: nan";
  } else {
    EXPECT_NEAR(loom, gensim.get<double>(), 1e-6) << what;
  }
}

TEST(GensimParity, WordPairsEqualGensimOnEveryWordsimFile) {
  Vectors v = golden_vectors();
  std::set<std::string> covered;
  int scored = 0;
  const nlohmann::json g = golden();
  for (const auto& c : g["pairs"]) {
    const std::string file = c["file"];
    covered.insert(file);
    LOOM_REQUIRE_DATA(test::data_path("wordsim/" + file));
    EvalOptions o;
    o.restrict_vocab = c["restrict_vocab"];
    o.case_insensitive = c["case_insensitive"];
    o.dummy4unknown = c["dummy4unknown"];
    PairColumns cols;
    if (!c["columns"].is_null()) cols = {c["columns"][0], c["columns"][1], c["columns"][2], true};
    const char delim = c["delimiter"].get<std::string>()[0];
    const std::string path = test::data_path("wordsim/" + file);
    SCOPED_TRACE(file + " restrict " + std::to_string(o.restrict_vocab));
    if (c.contains("error")) {
      EXPECT_THROW(evaluate_word_pairs_file(v, path, delim, o, cols), Error) << c["error"];
      continue;
    }
    PairsResult r = evaluate_word_pairs_file(v, path, delim, o, cols);
    expect_close_or_nan(r.spearman, c["spearman"], "spearman");
    expect_close_or_nan(r.pearson, c["pearson"], "pearson");
    EXPECT_NEAR(r.oov_ratio, c["oov_ratio"].get<double>(), 1e-9);
    ++scored;
  }
  EXPECT_GE(scored, 20);
  covered.insert("questions-words.txt");
  for (const auto& e : std::filesystem::directory_iterator(test::data_path("wordsim"))) {
    EXPECT_TRUE(covered.count(e.path().filename().string())) << "no golden for " << e.path();
  }
}

TEST(Correlation, SpearmanAveragesTiedRanksLikeScipy) {
  // scipy.stats.spearmanr([1, 2, 2, 3, 5], [2, 1, 4, 4, 9]) = 0.7631578947368421
  EXPECT_NEAR(spearman({1, 2, 2, 3, 5}, {2, 1, 4, 4, 9}), 0.7631578947368421, 1e-12);
  // scipy.stats.pearsonr([1, 2, 3, 4], [1, 3, 2, 5]) = 0.8315218406203
  EXPECT_NEAR(pearson({1, 2, 3, 4}, {1, 3, 2, 5}), 0.8315218406203, 1e-12);
  EXPECT_TRUE(std::isnan(pearson({1, 2, 3}, {4, 4, 4})));
}

TEST(CaseFolding, UpperCaseIsPythonsStrUpper) {
  // Python: "straße".upper() == "STRASSE", "ﬁx".upper() == "FIX", "naïve".upper() == "NAÏVE"
  EXPECT_EQ(text::to_upper("straße"), "STRASSE");
  EXPECT_EQ(text::to_upper("\uFB01x"), "FIX");
  EXPECT_EQ(text::to_upper("naïve"), "NAÏVE");
  EXPECT_EQ(text::to_upper("Paris-2"), "PARIS-2");
}

TEST(Analogies, QuestionBeforeAnySectionIsAnError) {
  Vectors v = golden_vectors();
  ThreadPool pool(1);
  try {
    evaluate_word_analogies(v, "a b c d\n: s\n", "q.txt", {}, pool);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "q.txt: line 1: expected a section header \": name\" before the first question");
  }
}

TEST(MostSimilar, FindsTheWordItselfFirstWhenNotExcludedAndRejectsUnknownWords) {
  Vectors v = golden_vectors();
  ThreadPool pool(1);
  NeighbourSearch s(v, 0);
  const int64_t row = v.find("the");
  ASSERT_GE(row, 0);
  auto q = s.query({{row, 1.0f}});
  auto found = s.search(q.data(), 1, 3, {}, pool);
  ASSERT_EQ(found[0].size(), 3u);
  EXPECT_EQ(found[0][0].row, row);
  EXPECT_NEAR(found[0][0].score, 1.0f, 1e-5);
  EXPECT_GE(found[0][1].score, found[0][2].score);
  auto words = most_similar(v, {"the"}, {}, 3, 0, pool);
  EXPECT_NE(words[0].first, "the");
  EXPECT_EQ(words[0].first, v.word(found[0][1].row));
  EXPECT_THROW(most_similar(v, {"no-such-word-here"}, {}, 3, 0, pool), Error);
}

}  // namespace
}  // namespace loom::wordvec
