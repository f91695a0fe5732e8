// The metadata side table: filters compiled to it keep exactly the documents the json_extract
// form keeps, over seeded documents and seeded filters, after upserts and deletes and after a
// version-2 store is upgraded on open; and SQLite answers them from the (coll, key, val) index.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "retrieval/doc_store.h"
#include "retrieval/store_fixture.h"

namespace loom::retrieval {
namespace {

const char* kLangs[] = {"de", "en", "fr", "nl"};

// Seeded metadata: a number (integers and halves), a string, a bool, each sometimes absent, and
// sometimes an array or null under a filterable key.
std::string random_meta(std::mt19937& rng) {
  std::string m = "{";
  auto add = [&](const std::string& kv) { m += (m.size() > 1 ? ", " : "") + kv; };
  if (rng() % 8 != 0) add("\"year\": " + std::to_string(1970 + rng() % 50) + (rng() % 4 ? "" : ".5"));
  if (rng() % 8 != 0) add(std::string("\"lang\": \"") + kLangs[rng() % 4] + "\"");
  if (rng() % 8 != 0) add(std::string("\"ok\": ") + (rng() % 2 ? "true" : "false"));
  if (rng() % 10 == 0) add(rng() % 2 ? "\"tags\": [1, 2]" : "\"tags\": null");
  return m + "}";
}

FilterValue random_value(FieldType t, std::mt19937& rng) {
  if (t == FieldType::kNumber) return static_cast<double>(1970 + rng() % 50) + (rng() % 4 ? 0 : 0.5);
  if (t == FieldType::kString) return std::string(kLangs[rng() % 4]);
  return rng() % 2 == 0;
}

Filter random_filter(std::mt19937& rng) {
  const std::pair<const char*, FieldType> fields[] = {
      {"year", FieldType::kNumber}, {"lang", FieldType::kString}, {"ok", FieldType::kBool},
      {"tags", FieldType::kNumber}};
  Filter f;
  for (size_t n = 1 + rng() % 3; n > 0; --n) {
    const auto& [name, type] = fields[rng() % 4];
    Condition c;
    c.field = name;
    c.op = static_cast<Condition::Op>(rng() % 8);
    if (type == FieldType::kBool && c.op >= Condition::Op::kLt && c.op <= Condition::Op::kGe)
      c.op = Condition::Op::kNe;
    const bool list = c.op == Condition::Op::kIn || c.op == Condition::Op::kNin;
    for (size_t v = list ? 1 + rng() % 3 : 1; v > 0; --v) c.values.push_back(random_value(type, rng));
    f.all.push_back(c);
  }
  return f;
}

std::vector<std::string> select_ids(Db& db, const std::string& where,
                                    const std::vector<FilterValue>& params) {
  Stmt s(db, "SELECT d.id FROM documents d WHERE d.coll = 1 AND (" + where + ") ORDER BY d.id");
  bind_filter(s, 1, params);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

// Returns how many filters kept some but not all documents (so the comparison means something).
int compare_on_seeded_filters(const std::string& db_path, int n_docs) {
  Db db(db_path, false);
  std::mt19937 rng(7);
  int partial = 0;
  for (int i = 0; i < 300; ++i) {
    const Filter f = random_filter(rng);
    std::vector<FilterValue> pj, pi;
    const std::vector<std::string> by_json = select_ids(db, filter_sql(f, "d.meta", &pj), pj);
    const std::vector<std::string> by_index =
        select_ids(db, filter_sql_indexed(f, 1, "d.id", &pi), pi);
    EXPECT_EQ(by_json, by_index) << "filter " << i;
    partial += !by_json.empty() && static_cast<int>(by_json.size()) < n_docs;
  }
  return partial;
}

struct Seeded : test::TempStore {
  int n_docs = 0;

  // 400 documents, then 100 of them replaced with new metadata and 50 deleted.
  Seeded() {
    CollectionConfig c;
    c.embedder = "letters-v1";
    c.dim = 26;
    c.index_kind = "flat";
    create_collection(db, "c", c);
    Collection coll(db, "c");
    coll.attach_encoder(enc, "letters-v1");
    std::mt19937 rng(3);
    std::vector<DocInput> docs, redo;
    for (int i = 0; i < 400; ++i) docs.push_back({"d" + std::to_string(i), "text", random_meta(rng)});
    coll.upsert(docs, pool);
    for (int i = 0; i < 100; ++i) redo.push_back({"d" + std::to_string(i * 3), "t", random_meta(rng)});
    coll.upsert(redo, pool);
    std::vector<std::string> gone;
    for (int i = 0; i < 50; ++i) gone.push_back("d" + std::to_string(i * 7 + 1));
    n_docs = 400 - static_cast<int>(coll.remove(gone));
  }
};

TEST(FilterIndex, SameDocumentsAsJsonExtract) {
  Seeded s;
  EXPECT_GT(compare_on_seeded_filters(s.db, s.n_docs), 50);
  Db db(s.db, false);
  EXPECT_EQ(db.query_text("SELECT count(*) FROM meta_values"),
            db.query_text("SELECT count(*) FROM documents, json_each(documents.meta)"));
}

TEST(FilterIndex, ReadsTheIndex) {
  Seeded s;
  Db db(s.db, false);
  db.exec("ANALYZE");
  std::vector<FilterValue> p;
  const std::string sql = "EXPLAIN QUERY PLAN SELECT d.id FROM documents d WHERE d.coll = 1 AND " +
                          filter_sql_indexed(parse_filter(R"({"year": {"$gte": 2015}})"), 1,
                                             "d.id", &p);
  Stmt s2(db, sql);
  bind_filter(s2, 1, p);
  std::string plan;
  while (s2.step()) plan += s2.text(3) + "\n";
  EXPECT_NE(plan.find("meta_values_kv"), std::string::npos) << plan;
}

// A store from before the side table: opening it builds the table from the documents' JSON.
TEST(FilterIndex, AnOlderStoreIsUpgradedOnOpen) {
  Seeded s;
  {
    Db db(s.db, false);
    db.exec("DROP TABLE meta_values; UPDATE meta SET value='2' WHERE key='schema_version'");
  }
  Collection coll(s.db, "c");
  SearchRequest r;
  r.mode = SearchMode::kVector;
  r.vector.assign(26, 1.0f);
  r.k = 1000;
  r.filter = parse_filter(R"({"lang": "en", "year": {"$lt": 1990}})");
  std::vector<std::string> got;
  for (const Hit& h : coll.search(r, s.pool)) got.push_back(h.doc_id);
  std::sort(got.begin(), got.end());
  Db db(s.db, false);
  std::vector<FilterValue> p;
  EXPECT_EQ(got, select_ids(db, filter_sql(r.filter, "d.meta", &p), p));
  EXPECT_FALSE(got.empty());
  EXPECT_GT(compare_on_seeded_filters(s.db, s.n_docs), 50);
}

}  // namespace
}  // namespace loom::retrieval
