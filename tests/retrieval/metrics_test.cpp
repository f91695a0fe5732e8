// Ranking metrics against a case computed by hand from trec_eval 9's definitions.
//
// Files: tests/reference/retrieval/metrics/{run.trec, qrels.trec, qrels.tsv}.
//   qrels  q1: d1=2 d2=1 d3=0 d4=3     q2: a=1 b=0     q3: x=1 (q3 has no run: not scored)
//   run    q1: d2 2.5, d3 5.0, d1 4.0, d9 4.0, d7 1.0  q2: a 0.8, c 0.9   q4: z (no qrels: not
//   scored)
// trec_eval order (score desc, ties docid desc; the file's rank column is ignored):
//   q1: d3(rel 0) d9(unjudged) d1(2) d2(1) d7(unjudged)   -> relevant at ranks 3 and 4, num_rel 3
//   q2: c(unjudged) a(1)                                  -> relevant at rank 2, num_rel 1
// map:        q1 (1/3 + 2/4) / 3 = 0.277778; q2 1/2            -> mean 0.388889
// map_cut_3:  q1 (1/3) / 3 = 0.111111;       q2 1/2            -> mean 0.305556
// recip_rank: q1 1/3; q2 1/2                                   -> mean 0.416667
// P_1 0; P_3: q1 1/3, q2 1/3 -> 0.333333; P_5: q1 2/5, q2 1/5 -> 0.3; P_10: 0.2, 0.1 -> 0.15
// recall_1 0; recall_3: q1 1/3, q2 1 -> 0.666667; recall_5: q1 2/3, q2 1 -> 0.833333
// ndcg_cut (gain = judged value, discount log2(rank + 1)):
//   q1 ideal: gains 3, 2, 1 -> 3/1 + 2/log2(3) + 1/log2(4) = 4.761860
//   q1 dcg@3 = 2/log2(4) = 1          -> 1/4.761860 = 0.210002
//   q1 dcg@5 = 1 + 1/log2(5) = 1.430677 -> 0.300445 (also @10)
//   q2 dcg = 1/log2(3) = 0.630930, ideal 1 -> 0.630930 at 3, 5, 10; 0 at 1
//   means: ndcg_cut_1 0, ndcg_cut_3 0.420466, ndcg_cut_5 = ndcg_cut_10 = 0.465687
// counts over the 2 scored queries: num_ret 7, num_rel 4, num_rel_ret 3.
#include "retrieval/metrics.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_util.h"

namespace loom::retrieval {
namespace {

void expect_hand_values(const Evaluation& e) {
  EXPECT_EQ(e.num_q, 2);
  EXPECT_NEAR(metric(e, "map"), 0.388889, 5e-7);
  EXPECT_NEAR(metric(e, "map_cut_3"), 0.305556, 5e-7);
  EXPECT_NEAR(metric(e, "recip_rank"), 0.416667, 5e-7);
  EXPECT_NEAR(metric(e, "P_1"), 0.0, 1e-12);
  EXPECT_NEAR(metric(e, "P_3"), 0.333333, 5e-7);
  EXPECT_NEAR(metric(e, "P_5"), 0.3, 1e-12);
  EXPECT_NEAR(metric(e, "P_10"), 0.15, 1e-12);
  EXPECT_NEAR(metric(e, "recall_1"), 0.0, 1e-12);
  EXPECT_NEAR(metric(e, "recall_3"), 0.666667, 5e-7);
  EXPECT_NEAR(metric(e, "recall_5"), 0.833333, 5e-7);
  EXPECT_NEAR(metric(e, "ndcg_cut_1"), 0.0, 1e-12);
  EXPECT_NEAR(metric(e, "ndcg_cut_3"), 0.420466, 5e-7);
  EXPECT_NEAR(metric(e, "ndcg_cut_5"), 0.465687, 5e-7);
  EXPECT_NEAR(metric(e, "ndcg_cut_10"), 0.465687, 5e-7);
  EXPECT_NEAR(metric(e, "mrr_cut_1"), 0.0, 1e-12);
  EXPECT_NEAR(metric(e, "mrr_cut_3"), 0.416667, 5e-7);
  EXPECT_EQ(metric(e, "num_ret"), 7);
  EXPECT_EQ(metric(e, "num_rel"), 4);
  EXPECT_EQ(metric(e, "num_rel_ret"), 3);
}

TEST(Metrics, HandCheckedCaseTrecQrels) {
  auto qrels = load_qrels(test::golden_path("retrieval/metrics/qrels.trec"));
  auto run = load_run(test::golden_path("retrieval/metrics/run.trec"));
  expect_hand_values(evaluate(qrels, run, {1, 3, 5, 10}));
}

TEST(Metrics, HandCheckedCaseBeirQrels) {
  auto qrels = load_qrels(test::golden_path("retrieval/metrics/qrels.tsv"));
  auto run = load_run(test::golden_path("retrieval/metrics/run.trec"));
  expect_hand_values(evaluate(qrels, run, {1, 3, 5, 10}));
}

TEST(Metrics, TiesBrokenByDocidDescendingAsFloat) {
  // 1.0 and 1.00000001 are equal as float: the tie goes to the larger docid, "b".
  Qrels qrels{{"q", {{"a", 1}}}};
  TrecRun run{{"q", {{"a", 1.00000001}, {"b", 1.0}}}};
  EXPECT_NEAR(metric(evaluate(qrels, run), "recip_rank"), 0.5, 1e-12);
  std::vector<ScoredDoc> d{{"10", 1}, {"9", 1}, {"x", 2}};
  sort_trec(d);
  EXPECT_EQ(d[0].docid, "x");
  EXPECT_EQ(d[1].docid, "9");  // strcmp order, not numeric
  EXPECT_EQ(d[2].docid, "10");
}

TEST(Metrics, RunAndQrelsErrorsNameTheLine) {
  try {
    parse_run("q Q0 a 1 1.0 t\nq Q0 a 2 0.5 t\n", "r.trec");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("r.trec:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_run("q Q0 a 1 high t\n", "r"), Error);
  EXPECT_THROW(parse_run("q Q0 a 1\n", "r"), Error);
  for (const char* bad : {"nan", "-nan", "inf", "-inf", "NaN"}) {
    try {
      parse_run(std::string("q Q0 a 1 0.5 t\nq Q0 b 2 ") + bad + " t\n", "run.trec");
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("run.trec:2"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_qrels("q 0 d\n", "q"), Error);  // 3 fields is BEIR: "d" is not an integer
  EXPECT_THROW(parse_qrels("q 0 d 1\nq 0 d 2\n", "q"), Error);
  EXPECT_THROW(parse_qrels("q 0 d 1 extra junk\n", "q"), Error);
  // A score past int's range is an error line, not a float-to-int overflow (found by fuzzing).
  EXPECT_THROW(parse_qrels("q\td\t4444444444444444444444444444444441\n", "q"), Error);
  EXPECT_THROW(parse_qrels("q\td\t1e300\n", "q"), Error);
  EXPECT_EQ(parse_qrels("q\td\t2.0\n", "q").at("q").at("d"), 2);
}

TEST(Metrics, RunFileRoundTrip) {
  TrecRun run{{"q1", {{"a", 0.5}, {"b", 2.25}}}, {"q2", {{"c", -1}}}};
  std::string text = format_run(run, "loom");
  EXPECT_EQ(text, "q1 Q0 b 1 2.25 loom\nq1 Q0 a 2 0.5 loom\nq2 Q0 c 1 -1 loom\n");
  TrecRun back = parse_run(text, "x");
  EXPECT_EQ(format_run(back, "loom"), text);
}

}  // namespace
}  // namespace loom::retrieval
