// `loom collection create|add|search|delete|info`: the SQLite document store of src/retrieval
// (doc_store.h). Parsing and printing only.
#include <cstdio>
#include <filesystem>
#include <string>

#include "bm25_flags.h"
#include "cli.h"
#include "cmd_embed.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/threads.h"
#include "retrieval/doc_jsonl.h"
#include "retrieval/doc_store.h"

namespace {

using loom::cli::Args;
using loom::cli::json_quote;
using loom::cli::UsageError;
namespace rt = loom::retrieval;

// The embedder from the flags, attached to the collection (which checks it is the one it was
// built with).
struct Attached {
  std::unique_ptr<loom::embed::Embedder> embedder;
  std::unique_ptr<rt::EmbedderEncoder> encoder;
};

// The collection's record of the embedder: model, tokenizer, adapter, pooling, token limit.
std::string identity(const Args& a, const loom::embed::Embedder& e) {
  std::string id = rt::embedder_identity(a.need("model"), a.str("tokenizer"), e);
  if (a.has("adapter"))
    id += " adapter=" + std::filesystem::absolute(a.str("adapter")).lexically_normal().string();
  return id;
}

// Token windows are counted with the embedder's tokenizer, which keeps max_tokens() at most.
void check_chunk_tokens(const rt::ChunkOptions& c, const loom::embed::Embedder& e) {
  if (c.mode == rt::ChunkMode::kTokens && c.max_tokens > e.max_tokens()) {
    throw loom::Error("chunks of " + std::to_string(c.max_tokens) +
                      " tokens are more than the embedder keeps (" +
                      std::to_string(e.max_tokens()) + ")");
  }
}

Attached attach(const Args& a, rt::Collection& coll) {
  Attached at;
  at.embedder = loom::cli::make_embedder(a);
  at.encoder = std::make_unique<rt::EmbedderEncoder>(*at.embedder);
  const loom::embed::Embedder* e = at.embedder.get();
  check_chunk_tokens(coll.config().chunking, *e);
  coll.attach_encoder(*at.encoder, identity(a, *e), [e](std::string_view t) {
    return static_cast<int64_t>(e->tokens(t).size());
  });
  return at;
}

int run_create(const Args& a) {
  auto embedder = loom::cli::make_embedder(a);
  rt::CollectionConfig c;
  c.embedder = identity(a, *embedder);
  c.dim = embedder->dim();
  c.index_kind = a.str("index", "hnsw");
  c.metric = loom::index::parse_metric(a.str("metric", "cos"));
  c.chunking.mode = rt::parse_chunk_mode(a.str("chunk", "none"));
  c.chunking.max_tokens = a.integer("chunk-tokens", 128);
  c.chunking.overlap = a.integer("chunk-overlap", 16);
  c.chunking.max_bytes = a.integer("max-doc-bytes", 1 << 20);
  c.bm25 = loom::cli::bm25_params(a, "bm25-");
  check_chunk_tokens(c.chunking, *embedder);
  const std::string db = a.need("db"), name = a.need("name");
  rt::create_collection(db, name, c);
  if (a.json()) {
    std::printf("{\"collection\": %s, \"dim\": %lld, \"embedder\": %s}\n", json_quote(name).c_str(),
                (long long)c.dim, json_quote(c.embedder).c_str());
  } else {
    std::printf("created collection %s in %s (dim %lld, %s index, chunks: %s)\n", name.c_str(),
                db.c_str(), (long long)c.dim, c.index_kind.c_str(),
                rt::chunk_mode_name(c.chunking.mode));
  }
  return 0;
}

int run_add(const Args& a) {
  const std::string docs_path = a.need("docs");
  // Every line is checked before anything is written.
  const std::vector<rt::DocInput> docs =
      rt::parse_documents_jsonl(loom::read_file(docs_path), docs_path);
  rt::Collection coll(a.need("db"), a.need("name"));
  Attached at = attach(a, coll);
  loom::ThreadPool pool(a.threads());
  const size_t batch = static_cast<size_t>(std::max<long long>(1, a.integer("batch", 256)));
  for (size_t i = 0; i < docs.size(); i += batch) {
    std::vector<rt::DocInput> part(docs.begin() + i,
                                   docs.begin() + std::min(docs.size(), i + batch));
    coll.upsert(part, pool);
    // The ack: every document up to here is committed.
    std::fprintf(stderr, "committed %zu of %zu documents\n", i + part.size(), docs.size());
  }
  coll.save_index();
  const rt::CollectionInfo info = coll.info();
  if (a.json()) {
    std::printf("{\"added\": %zu, \"documents\": %lld, \"chunks\": %lld}\n", docs.size(),
                (long long)info.documents, (long long)info.chunks);
  } else {
    std::printf("added %zu documents; the collection holds %lld documents in %lld chunks\n",
                docs.size(), (long long)info.documents, (long long)info.chunks);
  }
  return 0;
}

rt::SearchMode parse_mode(const std::string& m) {
  if (m == "vector") return rt::SearchMode::kVector;
  if (m == "bm25") return rt::SearchMode::kBm25;
  if (m == "hybrid") return rt::SearchMode::kHybrid;
  throw UsageError{"flag --mode: expected vector, bm25 or hybrid, got '" + m + "'"};
}

void print_hits(const Args& a, const std::vector<rt::Hit>& hits) {
  if (a.json()) std::printf("[");
  for (size_t i = 0; i < hits.size(); ++i) {
    const rt::Hit& h = hits[i];
    if (a.json()) {
      std::printf(
          "%s{\"rank\": %zu, \"id\": %s, \"score\": %.9g, \"chunk\": [%lld, %lld], "
          "\"text\": %s}",
          i ? ", " : "", i + 1, json_quote(h.doc_id).c_str(), h.score, (long long)h.begin,
          (long long)h.end, json_quote(h.text).c_str());
    } else {
      std::string snippet = h.text.substr(0, 60);
      for (char& c : snippet) c = (c == '\n' || c == '\t') ? ' ' : c;
      std::printf("%zu\t%s\t%.6g\t%s\n", i + 1, h.doc_id.c_str(), h.score, snippet.c_str());
    }
  }
  if (a.json()) std::printf("]\n");
}

int run_search(const Args& a) {
  rt::Collection coll(a.need("db"), a.need("name"));
  rt::SearchRequest r;
  r.text = a.need("query");
  r.mode = parse_mode(a.str("mode", "vector"));
  const long long k = a.integer("k", 10);
  if (k <= 0 || k > 10000) throw UsageError{"flag --k: expected 1..10000"};
  r.k = static_cast<size_t>(k);
  r.ef = a.integer("ef", 0);
  if (a.has("where")) r.filter = rt::parse_filter(a.str("where"), "--where");
  Attached at;
  if (r.mode != rt::SearchMode::kBm25) at = attach(a, coll);
  loom::ThreadPool pool(a.threads());
  print_hits(a, coll.search(r, pool));
  return 0;
}

int run_delete(const Args& a) {
  std::vector<std::string> ids;
  const std::string list = a.need("ids");
  for (size_t pos = 0; pos <= list.size();) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    if (end > pos) ids.push_back(list.substr(pos, end - pos));
    pos = end + 1;
  }
  rt::Collection coll(a.need("db"), a.need("name"));
  const int64_t n = coll.remove(ids);
  coll.compact();
  if (a.json()) {
    std::printf("{\"deleted\": %lld}\n", (long long)n);
  } else {
    std::printf("deleted %lld of %zu documents\n", (long long)n, ids.size());
  }
  return 0;
}

int run_info(const Args& a) {
  const std::string db = a.need("db");
  if (!a.has("name")) {
    for (const std::string& n : rt::list_collections(db)) std::printf("%s\n", n.c_str());
    return 0;
  }
  rt::Collection coll(db, a.str("name"));
  const rt::CollectionInfo i = coll.info();
  const std::string problem = coll.check();
  if (a.json()) {
    std::printf(
        "{\"collection\": %s, \"embedder\": %s, \"dim\": %lld, \"index\": %s, "
        "\"chunking\": %s, \"bm25\": %s, \"documents\": %lld, \"chunks\": %lld, "
        "\"integrity\": %s}\n",
        json_quote(i.name).c_str(), json_quote(i.config.embedder).c_str(), (long long)i.config.dim,
        json_quote(i.config.index_kind).c_str(),
        json_quote(rt::chunk_mode_name(i.config.chunking.mode)).c_str(),
        json_quote(rt::bm25_settings_text(i.config.bm25)).c_str(), (long long)i.documents,
        (long long)i.chunks, json_quote(problem.empty() ? "ok" : problem).c_str());
  } else {
    std::printf(
        "collection\t%s\nembedder\t%s\ndim\t%lld\nindex\t%s\nchunking\t%s\nbm25\t%s\n"
        "documents\t%lld\nchunks\t%lld\nintegrity\t%s\n",
        i.name.c_str(), i.config.embedder.c_str(), (long long)i.config.dim,
        i.config.index_kind.c_str(), rt::chunk_mode_name(i.config.chunking.mode),
        rt::bm25_settings_text(i.config.bm25).c_str(),
        (long long)i.documents, (long long)i.chunks, problem.empty() ? "ok" : problem.c_str());
  }
  return problem.empty() ? 0 : 1;
}

std::vector<loom::cli::Flag> with_embedder(std::vector<loom::cli::Flag> flags) {
  for (auto& f : loom::cli::embedder_flags()) flags.push_back(f);
  return flags;
}

std::vector<loom::cli::Flag> with_bm25(std::vector<loom::cli::Flag> flags) {
  for (auto& f : loom::cli::bm25_flags("bm25-")) flags.push_back(f);
  return flags;
}

const loom::cli::Flag kDb{"db", "FILE", "the store's SQLite file", ""};
const loom::cli::Flag kName{"name", "NAME", "collection name", ""};

}  // namespace

LOOM_COMMAND("collection create", "create a collection: its embedder, index and chunking",
             with_bm25(with_embedder({kDb,
                            kName,
                            {"index", "KIND", "flat, hnsw or vamana", "hnsw"},
                            {"metric", "M", "ip, l2 or cos", "cos"},
                            {"chunk", "MODE", "none, paragraph, sentence or tokens", "none"},
                            {"chunk-tokens", "N", "tokens: tokens per chunk", "128"},
                            {"chunk-overlap", "N", "tokens: tokens shared by neighbours", "16"},
                            {"max-doc-bytes", "N", "larger documents are refused", "1048576"}})),
             run_create);

LOOM_COMMAND("collection add",
             "insert or replace documents from JSONL ({\"id\", \"text\", \"metadata\"})",
             with_embedder({kDb,
                            kName,
                            {"docs", "FILE.jsonl", "one document object per line", ""},
                            {"batch", "N", "documents per committed transaction", "256"}}),
             run_add, "The embedder flags must name the embedder the collection was created with.");

LOOM_COMMAND(
    "collection search", "search a collection (vector, bm25 or hybrid), optionally filtered",
    with_embedder({kDb,
                   kName,
                   {"query", "TEXT", "query text", ""},
                   {"mode", "MODE", "vector, bm25 or hybrid (RRF)", "vector"},
                   {"where", "JSON", "metadata filter, e.g. {\"year\": {\"$gte\": 1990}}", ""},
                   {"k", "N", "results", "10"},
                   {"ef", "N", "index beam width (0 = default)", "0"}}),
    run_search, "Filters: equality, $eq $ne $lt $lte $gt $gte $in $nin, combined with and ($and).");

LOOM_COMMAND("collection delete", "delete documents by id, then compact",
             {kDb, kName, {"ids", "ID,ID,...", "document ids", ""}}, run_delete);

LOOM_COMMAND("collection info", "list collections, or describe one and check its integrity",
             {kDb, kName}, run_info);
