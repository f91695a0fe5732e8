// DenseRetriever and HybridRetriever over a small corpus with a letter-count encoder (each text
// -> how often each of a..z occurs), checked against exact cosine scores computed here, and the
// hybrid's fusion against rrf_fuse of the two runs.
#include "retrieval/retriever.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>

#include "core/error.h"
#include "retrieval/dense.h"

namespace loom::retrieval {
namespace {

class LetterEncoder : public TextEncoder {
 public:
  int64_t dim() const override { return 26; }
  std::vector<float> encode(std::span<const std::string> texts, TextRole role,
                            ThreadPool&) const override {
    (role == TextRole::kQuery ? queries : documents) += static_cast<int>(texts.size());
    std::vector<float> out(texts.size() * 26, 0.0f);
    for (size_t i = 0; i < texts.size(); ++i)
      for (char c : texts[i])
        if (std::isalpha(static_cast<unsigned char>(c)))
          out[i * 26 + static_cast<size_t>(std::tolower(c) - 'a')] += 1;
    return out;
  }
  mutable int queries = 0, documents = 0;
};

std::vector<Document> corpus() {
  return {{"d1", "", "aaa bbb"}, {"d2", "Zebra", "zzz"}, {"d3", "", "abc"}, {"d4", "", "cccc"}};
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

TEST(DenseRetriever, RanksByCosineOfTheEncodersVectors) {
  ThreadPool pool(1);
  LetterEncoder enc;
  DenseRetriever r(corpus(), enc, DenseOptions{}, pool);
  EXPECT_EQ(enc.documents, 4);
  EXPECT_EQ(r.size(), 4u);
  EXPECT_EQ(r.dim(), 26);
  std::vector<ScoredDoc> top = r.search("a b c", 3, pool);
  EXPECT_EQ(enc.queries, 1);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].docid, "d3");  // a, b, c once each: the same direction as the query
  EXPECT_EQ(top[1].docid, "d1");
  EXPECT_EQ(top[2].docid, "d4");
  std::vector<std::string> q{"a b c"}, d1{"aaa bbb"};
  EXPECT_NEAR(
      top[1].score,
      cosine(enc.encode(q, TextRole::kQuery, pool), enc.encode(d1, TextRole::kDocument, pool)),
      1e-5);
  // The title is embedded with the text: "Zebra zzz" is d2's best query.
  EXPECT_EQ(r.search("zebra", 1, pool)[0].docid, "d2");
}

TEST(DenseRetriever, PrecomputedVectorsGiveTheSameRun) {
  ThreadPool pool(2);
  LetterEncoder enc;
  DenseRetriever built(corpus(), enc, DenseOptions{}, pool);
  std::vector<std::string> texts;
  for (const Document& d : corpus()) texts.push_back(document_text(d));
  const std::vector<float> docs = enc.encode(texts, TextRole::kDocument, pool);
  DenseRetriever given({"d1", "d2", "d3", "d4"}, docs, 26, DenseOptions{}, &pool);
  const std::vector<Query> queries{{"q1", "abc"}, {"q2", "zz top"}};
  std::vector<std::string> qtexts{"abc", "zz top"};
  const std::vector<float> qv = enc.encode(qtexts, TextRole::kQuery, pool);
  TrecRun a = built.search_all(queries, 4, pool);
  TrecRun b = given.search_all(queries, 4, pool, qv.data());
  ASSERT_EQ(a.size(), 2u);
  for (const auto& [qid, docs_a] : a) {
    ASSERT_EQ(docs_a.size(), b[qid].size()) << qid;
    for (size_t i = 0; i < docs_a.size(); ++i) {
      EXPECT_EQ(docs_a[i].docid, b[qid][i].docid);
      EXPECT_FLOAT_EQ(static_cast<float>(docs_a[i].score), static_cast<float>(b[qid][i].score));
    }
  }
  // Without an encoder only query vectors can be searched.
  EXPECT_THROW(given.search("abc", 1, pool), Error);
  EXPECT_THROW(DenseRetriever({"d1"}, docs, 26, DenseOptions{}), Error);  // 4 rows for 1 id
}

TEST(HybridRetriever, FusesBm25AndDenseByReciprocalRank) {
  ThreadPool pool(1);
  LetterEncoder enc;
  const std::vector<Document> docs = corpus();
  HybridOptions o;
  o.rrf_k = 60;
  HybridRetriever h(docs, std::make_unique<DenseRetriever>(docs, enc, DenseOptions{}, pool), o);
  const std::vector<Query> queries{{"q", "zebra"}};
  TrecRun lexical = h.lexical().search_all(queries, 4);
  TrecRun dense = h.dense().search_all(queries, 4, pool);
  TrecRun expected = rrf_fuse({&lexical, &dense}, 60, 4);
  truncate_run(expected, 2);
  TrecRun got = h.search_all(queries, 2, pool);
  ASSERT_EQ(got["q"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got["q"][i].docid, expected["q"][i].docid);
    EXPECT_DOUBLE_EQ(got["q"][i].score, expected["q"][i].score);
  }
  EXPECT_EQ(got["q"][0].docid, "d2");  // first in both lists: 2 / 61
  EXPECT_DOUBLE_EQ(got["q"][0].score, 2.0 / 61.0);
  const std::vector<ScoredDoc> one = h.search("zebra", 2, pool);
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[0].docid, "d2");
}

}  // namespace
}  // namespace loom::retrieval
