#include "retrieval/porter.h"

#include <gtest/gtest.h>

#include <fstream>

#include "retrieval/analyzer.h"
#include "test_util.h"

namespace loom::retrieval {
namespace {

// The paper's examples and 300 Cranfield words, stemmed by tests/reference's Python reference
// (which SQLite FTS5's porter tokenizer agrees with on every one).
TEST(Porter, MatchesTheReferenceOnTheGoldenList) {
  std::ifstream in(test::golden_path("retrieval/porter/porter_golden.tsv"));
  ASSERT_TRUE(in) << "missing golden";
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    EXPECT_EQ(porter_stem(line.substr(0, tab)), line.substr(tab + 1)) << line;
    ++n;
  }
  EXPECT_GE(n, 200);
}

TEST(Porter, PaperRulesOneByOne) {
  EXPECT_EQ(porter_stem("caresses"), "caress");  // 1a SSES
  EXPECT_EQ(porter_stem("feed"), "feed");        // 1b (m>0) EED: m = 0
  EXPECT_EQ(porter_stem("hopping"), "hop");      // 1b double consonant
  EXPECT_EQ(porter_stem("filing"), "file");      // 1b (m=1 and *o) -> E
  EXPECT_EQ(porter_stem("sky"), "sky");          // 1c needs a vowel in the stem
  EXPECT_EQ(porter_stem("rational"), "ration");  // 2 ATIONAL (m(r) = 0) blocks TIONAL; 4 AL
  EXPECT_EQ(porter_stem("adoption"), "adopt");   // 4 ION after t
  EXPECT_EQ(porter_stem("controll"), "control");  // 5b
}

TEST(Porter, ShortAndNonAsciiWordsPassThrough) {
  EXPECT_EQ(porter_stem("is"), "is");
  EXPECT_EQ(porter_stem("as"), "as");
  EXPECT_EQ(porter_stem("b747s"), "b747s");
  EXPECT_EQ(porter_stem("caf\xc3\xa9s"), "caf\xc3\xa9s");
  EXPECT_EQ(porter_stem(""), "");
}

TEST(Analyzer, StemsAfterLowercaseAndStopwords) {
  AnalyzerOptions o;
  o.stem = true;
  o.stopwords = true;
  EXPECT_EQ(analyze("The Connections of flows IS connecting", o),
            (std::vector<std::string>{"connect", "flow", "connect"}));
  o.stem = false;
  EXPECT_EQ(analyze("Connections", o), (std::vector<std::string>{"connections"}));
}

}  // namespace
}  // namespace loom::retrieval
