// BEIR loading (with malformed lines), the analyzer, BM25 against hand-computed scores, RRF, and
// BM25 on the real Cranfield collection.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "index/flat_index.h"
#include "retrieval/bm25.h"
#include "retrieval/dense.h"
#include "retrieval/metrics.h"
#include "test_util.h"

namespace loom::retrieval {
namespace {

TEST(Analyzer, LowercasesSplitsAndDropsStopwords) {
  EXPECT_EQ(analyze("The Boundary-Layer, at M=2.5!"),
            (std::vector<std::string>{"the", "boundary", "layer", "at", "m", "2", "5"}));
  AnalyzerOptions o;
  o.stopwords = true;
  EXPECT_EQ(analyze("the flow of a fluid", o), (std::vector<std::string>{"flow", "fluid"}));
  EXPECT_EQ(analyze("caf\xc3\xa9 na\xc3\xafve"),
            (std::vector<std::string>{"caf\xc3\xa9", "na\xc3\xafve"}));
}

TEST(Beir, MalformedLinesStopOrAreSkippedWithLineNumbers) {
  std::string text =
      "{\"_id\": \"d1\", \"title\": \"T\", \"text\": \"x\"}\n"
      "\n"
      "{\"_id\": \"d2\", \"text\": \n"
      "{\"title\": \"no id\"}\n"
      "{\"_id\": 7, \"text\": \"numeric id\"}\n"
      "{\"_id\": \"d1\", \"text\": \"again\"}\n";
  try {
    parse_jsonl_documents(text, "corpus.jsonl", false, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corpus.jsonl:3: malformed JSON"), std::string::npos)
        << e.what();
  }
  std::vector<std::string> issues;
  LoadOptions skip{true, &issues};
  auto docs = parse_jsonl_documents(text, "corpus.jsonl", false, skip);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].id, "d1");
  EXPECT_EQ(docs[0].title, "T");
  EXPECT_EQ(docs[1].id, "7");
  ASSERT_EQ(issues.size(), 3u);
  EXPECT_NE(issues[0].find(":3:"), std::string::npos);
  EXPECT_NE(issues[1].find(":4:"), std::string::npos);
  EXPECT_NE(issues[2].find(":6: duplicate _id"), std::string::npos);
}

TEST(Bm25, MatchesHandComputedScores) {
  // N = 3, avgdl = (3 + 2 + 4) / 3 = 3; k1 = 0.9, b = 0.4.
  std::vector<Document> corpus{
      {"a", "", "wing flow wing"}, {"b", "", "flow shock"}, {"c", "", "shock wave wave wave"}};
  Bm25Index bm25(corpus);
  EXPECT_DOUBLE_EQ(bm25.avg_doc_len(), 3.0);
  auto hits = bm25.search("wing", 10);
  // idf(wing) = ln(1 + (3 - 1 + 0.5) / 1.5) = ln(8/3); doc a: tf 2, |d| 3:
  //   2 * 1.9 / (2 + 0.9 * (0.6 + 0.4 * 3 / 3)) = 3.8 / 2.9
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].docid, "a");
  EXPECT_NEAR(hits[0].score, std::log(8.0 / 3.0) * 3.8 / 2.9, 1e-12);
  // "shock": df 2, idf = ln(1 + 1.5 / 2.5) = ln(1.6).
  //   b (tf 1, |d| 2): 1.9 / (1 + 0.9 * (0.6 + 0.4 * 2/3)) = 1.9 / 1.78
  //   c (tf 1, |d| 4): 1.9 / (1 + 0.9 * (0.6 + 0.4 * 4/3)) = 1.9 / 2.02
  hits = bm25.search("Shock shock", 10);  // a repeated term counts twice
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].docid, "b");
  EXPECT_NEAR(hits[0].score, 2 * std::log(1.6) * 1.9 / 1.78, 1e-12);
  EXPECT_NEAR(hits[1].score, 2 * std::log(1.6) * 1.9 / 2.02, 1e-12);
  EXPECT_TRUE(bm25.search("nothing here", 10).empty());
}

TEST(Fusion, ReciprocalRankFusion) {
  TrecRun a{{"q", {{"x", 3}, {"y", 2}, {"z", 1}}}}, b{{"q", {{"z", 9}, {"x", 8}}}};
  TrecRun f = rrf_fuse({&a, &b}, 60);
  // x: 1/61 + 1/62, z: 1/63 + 1/61, y: 1/62
  ASSERT_EQ(f["q"].size(), 3u);
  EXPECT_EQ(f["q"][0].docid, "x");
  EXPECT_NEAR(f["q"][0].score, 1.0 / 61 + 1.0 / 62, 1e-15);
  EXPECT_EQ(f["q"][1].docid, "z");
  EXPECT_EQ(f["q"][2].docid, "y");
}

TEST(Dense, SearchesAnIndexAndMapsIdsToDocuments) {
  index::FlatIndex idx(2, index::Metric::kInnerProduct);
  std::vector<float> v{1, 0, 0, 1, 0.7f, 0.7f};
  std::vector<uint64_t> ids{0, 1, 2};
  idx.add(ids, v.data());
  std::vector<Query> q{{"q1", ""}};
  float qv[2] = {0, 2};
  TrecRun run = dense_search(idx, {"dA", "dB", "dC"}, q, qv, 2);
  ASSERT_EQ(run["q1"].size(), 2u);
  EXPECT_EQ(run["q1"][0].docid, "dB");
  EXPECT_FLOAT_EQ(run["q1"][0].score, 2.0f);
  EXPECT_EQ(run["q1"][1].docid, "dC");
}

// BM25 (k1 0.9, b 0.4, no stemming, no stopwords) on Cranfield with qrels/test.tsv.
TEST(Bm25, CranfieldNdcg) {
  std::string dir = test::data_path("retrieval/cranfield");
  LOOM_REQUIRE_DATA(dir + "/corpus.jsonl");
  BeirDataset ds = load_beir(dir);
  EXPECT_EQ(ds.corpus.size(), 1400u);
  EXPECT_EQ(ds.queries.size(), 225u);
  Bm25Index bm25(ds.corpus);
  TrecRun run = bm25.search_all(ds.queries, 100);
  Evaluation e = evaluate(ds.qrels, run, {10, 100});
  double ndcg = metric(e, "ndcg_cut_10");
  std::printf("cranfield bm25 ndcg_cut_10 %.4f recall_100 %.4f\n", ndcg, metric(e, "recall_100"));
  EXPECT_EQ(e.num_q, 225);
  EXPECT_GT(ndcg, 0.30);
  EXPECT_LT(ndcg, 0.50);
}

}  // namespace
}  // namespace loom::retrieval
