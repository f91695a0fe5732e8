#include "retrieval/definitions.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_util.h"

namespace loom::retrieval {
namespace {

TEST(Definitions, HeldOutLinesOnlyIdsAreLineNumbers) {
  std::string tsv;
  for (int i = 1; i <= 25; ++i) {
    tsv += "term" + std::to_string(i) + "\tdef\tof " + std::to_string(i) + "\r\n";
  }
  BeirDataset ds = definitions_task(tsv, "g.tsv", 10);
  ASSERT_EQ(ds.queries.size(), 2u);
  ASSERT_EQ(ds.corpus.size(), 2u);
  EXPECT_EQ(ds.queries[0].id, "10");
  EXPECT_EQ(ds.queries[0].text, "term10");
  EXPECT_EQ(ds.corpus[1].id, "20");
  EXPECT_EQ(ds.corpus[1].text, "def\tof 20");  // further tabs belong to the definition
  EXPECT_EQ(ds.qrels.at("20").at("20"), 1);
  EXPECT_EQ(ds.qrels.size(), 2u);
  EXPECT_EQ(definitions_task(tsv, "g.tsv", 1).queries.size(), 25u);
}

TEST(Definitions, MalformedHeldOutLinesAreNamed) {
  const std::string tsv = "a\tb\nnotab\n\tx\ny\t\n";
  try {
    definitions_task(tsv, "g.tsv", 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("g.tsv:2: expected term<TAB>definition"),
              std::string::npos)
        << e.what();
  }
  std::vector<std::string> issues;
  BeirDataset ds = definitions_task(tsv, "g.tsv", 1, {true, &issues});
  EXPECT_EQ(ds.queries.size(), 1u);
  ASSERT_EQ(issues.size(), 3u);
  EXPECT_NE(issues[1].find("g.tsv:3: empty term"), std::string::npos);
  EXPECT_NE(issues[2].find("g.tsv:4: empty definition"), std::string::npos);
  EXPECT_THROW(definitions_task(tsv, "g.tsv", 5), Error);  // no held-out line
  EXPECT_THROW(definitions_task(tsv, "g.tsv", 4), Error);  // line 4 is held out and malformed
  EXPECT_THROW(definitions_task(tsv, "g.tsv", 0), Error);
}

TEST(Definitions, FoldocHeldOutSet) {
  const std::string path = test::data_path("corpora/foldoc/foldoc.tsv");
  LOOM_REQUIRE_DATA(path);
  BeirDataset ds = load_definitions_task(path, 10);
  EXPECT_EQ(ds.queries.size(), 12014u / 10);
  EXPECT_EQ(ds.queries.front().id, "10");
}

}  // namespace
}  // namespace loom::retrieval
