// BM25 settings per collection: recorded at creation, read back on open, applied as BM25's
// formula says; a collection from before the settings table keeps the old defaults.
#include <gtest/gtest.h>

#include <cmath>

#include "retrieval/doc_store.h"
#include "retrieval/store_fixture.h"

namespace loom::retrieval {
namespace {

struct Fixture : test::TempStore {

  void create(const std::string& name, const Bm25Params& p) {
    CollectionConfig c;
    c.embedder = "letters-v1";
    c.dim = 26;
    c.index_kind = "flat";
    c.bm25 = p;
    create_collection(db, name, c);
    Collection coll(db, name);
    coll.attach_encoder(enc, "letters-v1");
    coll.upsert({{"d1", "Running fast", "{}"},
                 {"d2", "runs runs quickly here", "{}"},
                 {"d3", "walk", "{}"}},
                pool);
  }
  std::vector<Hit> bm25(const std::string& name, const std::string& q) {
    Collection coll(db, name);
    SearchRequest r;
    r.text = q;
    r.mode = SearchMode::kBm25;
    return coll.search(r, pool);
  }
};

// idf * tf (k1 + 1) / (tf + k1 (1 - b + b |d| / avgdl)), idf = ln(1 + (N - df + 0.5)/(df + 0.5)).
double bm25_term(double n, double df, double tf, double len, double avgdl, double k1, double b) {
  const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
  return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl));
}

TEST(Bm25Settings, PersistAndScoreAsTheFormulaSays) {
  Fixture f;
  Bm25Params p;
  p.k1 = 1.2;
  p.b = 0.75;
  p.analyzer.stem = true;
  f.create("stemmed", p);
  const CollectionConfig got = Collection(f.db, "stemmed").config();
  EXPECT_EQ(got.bm25.k1, 1.2);
  EXPECT_EQ(got.bm25.b, 0.75);
  EXPECT_TRUE(got.bm25.analyzer.stem);
  EXPECT_FALSE(got.bm25.analyzer.stopwords);
  EXPECT_EQ(bm25_settings_text(got.bm25), "k1=1.2 b=0.75 stopwords=no stem=yes");
  // Stemmed: run fast | run run quickli here | walk -> N 3, df(run) 2, avgdl 7/3.
  const std::vector<Hit> h = f.bm25("stemmed", "running");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].doc_id, "d2");
  EXPECT_NEAR(h[0].score, bm25_term(3, 2, 2, 4, 7.0 / 3, 1.2, 0.75), 1e-9);
  EXPECT_NEAR(h[1].score, bm25_term(3, 2, 1, 2, 7.0 / 3, 1.2, 0.75), 1e-9);
}

TEST(Bm25Settings, DefaultsMatchOnlyTheSurfaceForm) {
  Fixture f;
  f.create("plain", Bm25Params{});
  EXPECT_EQ(bm25_settings_text(Collection(f.db, "plain").config().bm25),
            "k1=0.9 b=0.4 stopwords=no stem=no");
  const std::vector<Hit> h = f.bm25("plain", "running");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].doc_id, "d1");
  EXPECT_NEAR(h[0].score, bm25_term(3, 1, 1, 2, 7.0 / 3, 0.9, 0.4), 1e-9);
}

// A version-1 file has no settings row: it opens with the defaults and is marked version 2.
TEST(Bm25Settings, AVersionOneStoreKeepsTheDefaults) {
  Fixture f;
  Bm25Params p;
  p.k1 = 2;
  p.analyzer.stem = true;
  f.create("old", p);
  {
    Db db(f.db, false);
    db.exec("DROP TABLE bm25; UPDATE meta SET value='1' WHERE key='schema_version'");
  }
  const std::vector<Hit> h = f.bm25("old", "running");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_NEAR(h[0].score, bm25_term(3, 1, 1, 2, 7.0 / 3, 0.9, 0.4), 1e-9);
  Db db(f.db, false);
  EXPECT_EQ(db.query_text("SELECT value FROM meta WHERE key='schema_version'"),
            std::to_string(kDocStoreSchemaVersion));
}

}  // namespace
}  // namespace loom::retrieval
