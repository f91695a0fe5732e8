// The document store: upsert/delete keep rows, BM25 and the vector index consistent; reopening
// replays what the index file missed; filters; chunking with parent links; bad input.
#include "retrieval/doc_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "retrieval/doc_jsonl.h"
#include "retrieval/store_fixture.h"

namespace loom::retrieval {
namespace {

using test::LetterEncoder;

const char* kEmbedder = "letters-v1";

CollectionConfig config(ChunkMode mode = ChunkMode::kNone) {
  CollectionConfig c;
  c.embedder = kEmbedder;
  c.dim = 26;
  c.index_kind = "hnsw";
  c.chunking.mode = mode;
  return c;
}

std::vector<DocInput> docs() {
  return {{"a", "aaaa apple", R"({"year": 1990, "lang": "en", "ok": true})"},
          {"b", "bbbb banana", R"({"year": 2001, "lang": "de", "ok": false})"},
          {"c", "cccc cherry", R"({"year": 2010, "lang": "fr"})"},
          {"z", "zzzz zebra", R"({"year": 1975, "lang": "en", "tags": [1, 2]})"}};
}

std::vector<std::string> ids(const std::vector<Hit>& hits) {
  std::vector<std::string> out;
  for (const Hit& h : hits) out.push_back(h.doc_id);
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

struct Store {
  std::string dir =
      test::fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::string db = dir + "/store.db";
  LetterEncoder enc;
  ThreadPool pool{1};
  std::unique_ptr<Collection> open(const std::string& name = "c") {
    auto c = std::make_unique<Collection>(db, name);
    c->attach_encoder(enc, kEmbedder);
    return c;
  }
};

SearchRequest query(const std::string& text, size_t k = 4, const std::string& where = "") {
  SearchRequest r;
  r.text = text;
  r.k = k;
  if (!where.empty()) r.filter = parse_filter(where);
  return r;
}

TEST(DocStore, UpsertDeleteAndReopenStayConsistent) {
  Store s;
  create_collection(s.db, "c", config());
  auto c = s.open();
  c->upsert(docs(), s.pool);
  EXPECT_EQ(ids(c->search(query("zzzz", 1), s.pool)), std::vector<std::string>{"z"});
  // Upsert replaces everywhere: vector, BM25, rows.
  c->upsert({{"z", "aaaa again", R"({"year": 1999, "lang": "en"})"}}, s.pool);
  auto top2 = ids(c->search(query("aaaa", 2), s.pool));
  std::sort(top2.begin(), top2.end());
  EXPECT_EQ(top2, (std::vector<std::string>{"a", "z"}));
  SearchRequest lex = query("zebra");
  lex.mode = SearchMode::kBm25;
  EXPECT_TRUE(c->search(lex, s.pool).empty());
  EXPECT_EQ(c->remove({"a", "nope"}), 1);
  EXPECT_EQ(ids(c->search(query("aaaa", 1), s.pool)), std::vector<std::string>{"z"});
  EXPECT_EQ(c->check(), "");
  EXPECT_EQ(c->info().documents, 3);
  c->save_index();
  c->upsert({{"n", "nnnn new", "{}"}}, s.pool);  // committed, index file not saved
  c.reset();
  auto again = s.open();
  EXPECT_EQ(again->info().replayed, 1);
  EXPECT_EQ(again->check(), "");
  EXPECT_EQ(ids(again->search(query("nnnn", 1), s.pool)), std::vector<std::string>{"n"});
  // A damaged index file is a cache: rebuilt from the rows.
  again.reset();
  std::ofstream(s.db + ".c.idx", std::ios::binary | std::ios::trunc) << "garbage";
  auto rebuilt = s.open();
  EXPECT_TRUE(rebuilt->info().rebuilt);
  EXPECT_EQ(rebuilt->check(), "");
  EXPECT_EQ(rebuilt->info().index_live, 4);
}

TEST(DocStore, FiltersEqualityRangesInAndHybrid) {
  Store s;
  create_collection(s.db, "c", config());
  auto c = s.open();
  c->upsert(docs(), s.pool);
  auto with = [&](const std::string& where, SearchMode mode = SearchMode::kVector) {
    SearchRequest r = query("aaaa bbbb cccc zzzz", 10, where);
    r.mode = mode;
    auto v = ids(c->search(r, s.pool));
    std::sort(v.begin(), v.end());
    return v;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(with(R"({"lang": "en"})"), (V{"a", "z"}));
  EXPECT_EQ(with(R"({"year": {"$gte": 1990, "$lt": 2010}})"), (V{"a", "b"}));
  EXPECT_EQ(with(R"({"lang": {"$in": ["de", "fr"]}})"), (V{"b", "c"}));
  EXPECT_EQ(with(R"({"lang": {"$nin": ["de", "fr"]}, "year": {"$gt": 1980}})"), (V{"a"}));
  EXPECT_EQ(with(R"({"ok": true})"), (V{"a"}));
  EXPECT_EQ(with(R"({"$and": [{"year": {"$lte": 2001}}, {"lang": {"$ne": "en"}}]})"), (V{"b"}));
  // Every document shares a term with the query: the filter alone keeps b and c out.
  EXPECT_EQ(with("", SearchMode::kBm25), (V{"a", "b", "c", "z"}));
  EXPECT_EQ(with(R"({"lang": "en"})", SearchMode::kBm25), (V{"a", "z"}));
  EXPECT_EQ(with(R"({"lang": "en"})", SearchMode::kHybrid), (V{"a", "z"}));
  // Type checks against the values seen.
  EXPECT_NE(error_of([&] { with(R"({"colour": "red"})"); }).find("unknown field 'colour'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { with(R"({"year": "1990"})"); }).find("'year' holds number"),
            std::string::npos);
  EXPECT_NE(error_of([&] { with(R"({"ok": {"$lt": true}})"); }).find("is a bool"),
            std::string::npos);
  EXPECT_NE(error_of([&] { with(R"({"tags": 1})"); }).find("unknown field 'tags'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_filter(R"({"$or": []})", "--where"); }).find("--where"),
            std::string::npos);
  EXPECT_THROW(parse_filter(R"({"year": {"$regex": 1}})"), Error);
  EXPECT_THROW(parse_filter(R"({"year": {"$in": 3}})"), Error);
  EXPECT_THROW(parse_filter("[1]"), Error);
  EXPECT_THROW(parse_filter("{\"year\": "), Error);
}

TEST(DocStore, ChunksLinkToTheirParent) {
  Store s;
  create_collection(s.db, "c", config(ChunkMode::kSentence));
  auto c = s.open();
  const std::string text = "Apples are red. Bananas are yellow!\n\nZebras zzz.";
  c->upsert({{"p", text, "{}"}}, s.pool);
  EXPECT_EQ(c->info().chunks, 3);
  auto hits = c->search(query("zzz zebras", 1), s.pool);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].doc_id, "p");
  EXPECT_EQ(hits[0].text, "Zebras zzz.");
  EXPECT_EQ(text.substr(hits[0].begin, hits[0].end - hits[0].begin), hits[0].text);
  c->upsert({{"blank", " \n ", "{}"}}, s.pool);  // kept as a document, with no chunk
  EXPECT_EQ(c->info().documents, 2);
  c->upsert({{"p", "only one sentence", "{}"}}, s.pool);  // replaces all three chunks
  EXPECT_EQ(c->info().chunks, 1);
  EXPECT_EQ(c->info().index_live, 1);
  EXPECT_EQ(c->check(), "");
}

TEST(DocStore, TokenWindowsOverlap) {
  ChunkOptions o;
  o.mode = ChunkMode::kTokens;
  o.max_tokens = 4;
  o.overlap = 1;
  auto words = [](std::string_view t) {  // one token per word
    int64_t n = 0;
    bool in = false;
    for (char ch : t) {
      bool sp = ch == ' ';
      n += (!sp && !in) ? 1 : 0;
      in = !sp;
    }
    return n;
  };
  const std::string t = "w1 w2 w3 w4 w5 w6 w7 w8 w9";
  std::vector<std::string> got;
  for (const ChunkSpan& c : chunk_text(t, o, words, "d"))
    got.push_back(t.substr(c.begin, c.end - c.begin));
  EXPECT_EQ(got, (std::vector<std::string>{"w1 w2 w3 w4", "w4 w5 w6 w7", "w7 w8 w9"}));
  o.overlap = 4;
  EXPECT_THROW(chunk_text(t, o, words, "d"), Error);
  EXPECT_TRUE(chunk_text(" \n", ChunkOptions{}, {}, "blank").empty());
  EXPECT_EQ(chunk_text("x", ChunkOptions{}, {}, "x").size(), 1u);
}

TEST(DocStore, BadInputIsOneClearErrorAndLosesNothing) {
  Store s;
  CollectionConfig cfg = config();
  cfg.chunking.max_bytes = 64;
  create_collection(s.db, "c", cfg);
  EXPECT_THROW(create_collection(s.db, "c", cfg), Error);
  EXPECT_THROW(create_collection(s.db, "bad name", cfg), Error);
  auto c = s.open();
  c->upsert(docs(), s.pool);
  const std::string big(100, 'x');
  EXPECT_NE(error_of([&] {
              c->upsert({{"ok", "fine", "{}"}, {"big", big, "{}"}}, s.pool);
            }).find("document 'big': 100 bytes, more than the chunker's limit of 64"),
            std::string::npos);
  EXPECT_THROW(c->upsert({{"m", "x", R"({"year": "old"})"}}, s.pool), Error);  // type clash
  EXPECT_THROW(c->upsert({{"m", "x", "[1]"}}, s.pool), Error);
  EXPECT_THROW(c->upsert({{"m", "x", "{"}}, s.pool), Error);
  EXPECT_EQ(c->info().documents, 4);  // the failed batches left nothing behind
  EXPECT_EQ(c->check(), "");
  // Another embedder.
  LetterEncoder other;
  Collection c2(s.db, "c");
  EXPECT_NE(error_of([&] { c2.attach_encoder(other, "letters-v2"); }).find("letters-v1"),
            std::string::npos);
  c.reset();
  // A newer format version.
  {
    Db db(s.db, false);
    db.exec("UPDATE meta SET value='4' WHERE key='schema_version'");
  }
  EXPECT_NE(error_of([&] { Collection(s.db, "c"); }).find("format version 4 is newer"),
            std::string::npos);
  EXPECT_THROW(Collection(s.dir + "/missing.db", "c"), Error);
  EXPECT_THROW(Collection(s.db + "x", "c"), Error);
}

TEST(DocStore, JsonlNamesTheBadLine) {
  auto docs = parse_documents_jsonl(
      "{\"id\": \"a\", \"title\": \"T\", \"text\": \"x\", \"metadata\": {\"y\": 1}}\n\n"
      "{\"_id\": 7, \"text\": \"z\"}\n",
      "d.jsonl");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].text, "T x");
  EXPECT_EQ(docs[0].metadata, "{\"y\":1}");
  EXPECT_EQ(docs[1].id, "7");
  EXPECT_EQ(docs[1].metadata, "{}");
  for (const char* bad : {"{\"text\": \"x\"}", "{\"id\": \"a\"}", "{\"id\": 1.5, \"text\": \"x\"}",
                          "{\"id\": \"a\", \"text\": \"x\", \"metadata\": [1]}", "[1]", "{"}) {
    const std::string e = error_of([&] {
      parse_documents_jsonl(std::string("{\"id\": \"ok\", \"text\": \"\"}\n") + bad, "d.jsonl");
    });
    EXPECT_NE(e.find("d.jsonl:2: "), std::string::npos) << bad << " -> " << e;
  }
}

}  // namespace
}  // namespace loom::retrieval
