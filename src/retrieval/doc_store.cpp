#include "retrieval/doc_store.h"

#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/error.h"
#include "index/factory.h"
#include "index/index_file.h"

namespace loom::retrieval {

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections(
  id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, embedder TEXT NOT NULL,
  dim INTEGER NOT NULL, index_kind TEXT NOT NULL, metric TEXT NOT NULL, chunking TEXT NOT NULL,
  max_tokens INTEGER NOT NULL, overlap INTEGER NOT NULL, max_bytes INTEGER NOT NULL,
  seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS documents(
  coll INTEGER NOT NULL, id TEXT NOT NULL, text TEXT NOT NULL, meta TEXT NOT NULL,
  PRIMARY KEY(coll, id));
CREATE TABLE IF NOT EXISTS chunks(
  id INTEGER PRIMARY KEY AUTOINCREMENT, coll INTEGER NOT NULL, doc TEXT NOT NULL,
  ord INTEGER NOT NULL, begin INTEGER NOT NULL, end INTEGER NOT NULL, vec BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(coll, doc);
CREATE TABLE IF NOT EXISTS fields(
  coll INTEGER NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, PRIMARY KEY(coll, name));
CREATE TABLE IF NOT EXISTS bm25(
  coll INTEGER PRIMARY KEY, k1 REAL NOT NULL, b REAL NOT NULL, stopwords INTEGER NOT NULL,
  stem INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta_values(coll INTEGER NOT NULL, doc TEXT NOT NULL, key TEXT NOT NULL,
  val);
CREATE INDEX IF NOT EXISTS meta_values_kv ON meta_values(coll, key, val);
CREATE INDEX IF NOT EXISTS meta_values_doc ON meta_values(coll, doc);
)";

// One row per top-level key with json_extract's value for it (val has no type affinity, so
// integers, reals, text and JSON text stay as they are and compare as json_extract's do).
constexpr const char* kPutMetaValues =
    "INSERT INTO meta_values(coll, doc, key, val) SELECT ?, ?, key, value FROM json_each(?)";

bool file_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

void check_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  if (!ok) throw Error("collection name '" + name + "': expected 1-64 letters, digits, _ or -");
}

std::optional<FieldType> json_type(const nlohmann::json& v) {
  if (v.is_boolean()) return FieldType::kBool;
  if (v.is_number()) return FieldType::kNumber;
  if (v.is_string()) return FieldType::kString;
  return std::nullopt;  // null, arrays and objects are kept but not filterable
}

FieldType parse_field_type(const std::string& s) {
  if (s == "number") return FieldType::kNumber;
  if (s == "string") return FieldType::kString;
  return FieldType::kBool;
}

// Deletes a document's chunk rows and metadata values, collecting the chunk ids (vectors to drop
// once committed).
struct ChunkDropper {
  ChunkDropper(Db& db, int64_t coll)
      : old(db, "SELECT id FROM chunks WHERE coll=? AND doc=?"),
        del(db, "DELETE FROM chunks WHERE coll=? AND doc=?"),
        del_meta(db, "DELETE FROM meta_values WHERE coll=? AND doc=?"),
        coll(coll) {}
  void drop(const std::string& doc) {
    old.bind(1, coll).bind(2, doc);
    while (old.step()) ids.push_back(static_cast<uint64_t>(old.int64(0)));
    old.reset();
    del.bind(1, coll).bind(2, doc).run();
    del_meta.bind(1, coll).bind(2, doc).run();
  }
  Stmt old, del, del_meta;
  int64_t coll;
  std::vector<uint64_t> ids;
};

}  // namespace

std::string embedder_identity(const std::string& model_path, const std::string& tokenizer_path,
                              const embed::Embedder& embedder) {
  auto absolute = [](const std::string& p) {
    return p.empty() ? std::string() : std::filesystem::absolute(p).lexically_normal().string();
  };
  std::string pooling;  // the config's JSON on one line
  bool line_start = false;
  for (char c : embedder.config().to_json()) {
    if (c == '\n') line_start = true;
    if (c == '\n' || (line_start && c == ' ')) continue;
    line_start = false;
    pooling += c;
  }
  return "model=" + absolute(model_path) + " tokenizer=" + absolute(tokenizer_path) +
         " pooling=" + pooling + " max_tokens=" + std::to_string(embedder.max_tokens());
}

namespace {

// Brings a file of an older version up to this one (inside one transaction).
void upgrade_store(Db& db, int64_t version) {
  Transaction tx(db);
  if (version < 3) {
    db.exec("DELETE FROM meta_values; INSERT INTO meta_values(coll, doc, key, val) "
            "SELECT d.coll, d.id, j.key, j.value FROM documents d, json_each(d.meta) j");
  }
  db.exec("INSERT OR REPLACE INTO meta VALUES('schema_version', '" +
          std::to_string(kDocStoreSchemaVersion) + "')");
  tx.commit();
}

}  // namespace

void bind_filter(Stmt& s, int first, const std::vector<FilterValue>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    const int at = static_cast<int>(i) + first;
    if (auto* d = std::get_if<double>(&params[i])) s.bind(at, *d);
    if (auto* t = std::get_if<std::string>(&params[i])) s.bind(at, std::string_view(*t));
    if (auto* b = std::get_if<bool>(&params[i])) s.bind(at, static_cast<int64_t>(*b ? 1 : 0));
  }
}

std::unique_ptr<Db> open_store(const std::string& path, bool create) {
  if (!create && !file_exists(path)) throw Error(path + ": no such document store");
  auto db = std::make_unique<Db>(path, create);
  int64_t version = kDocStoreSchemaVersion;  // a new file
  const std::string found =
      db->query_text("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'");
  if (!found.empty()) {
    const std::string v = db->query_text("SELECT value FROM meta WHERE key='schema_version'");
    try {
      version = std::stoll(v);
    } catch (const std::exception&) {
      throw Error(path + ": meta.schema_version '" + v + "' is not a number");
    }
    if (version > kDocStoreSchemaVersion) {
      throw Error(path + ": document store format version " + std::to_string(version) +
                  " is newer than this Loom reads (" + std::to_string(kDocStoreSchemaVersion) +
                  "); use a newer Loom");
    }
  } else {
    db->exec("PRAGMA auto_vacuum=INCREMENTAL");
  }
  db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  db->exec(kSchema);
  db->exec("INSERT OR IGNORE INTO meta VALUES('schema_version', '" +
           std::to_string(kDocStoreSchemaVersion) + "')");
  if (version < kDocStoreSchemaVersion) upgrade_store(*db, version);
  return db;
}

void create_collection(const std::string& db_path, const std::string& name,
                       const CollectionConfig& c) {
  check_name(name);
  if (c.dim <= 0) throw Error("collection " + name + ": dimension must be positive");
  index::make_index(c.index_kind, c.dim, c.metric);  // validates the kind
  if (c.chunking.mode == ChunkMode::kTokens)
    chunk_text(
        "", c.chunking, [](auto) { return 0; }, "");
  auto db = open_store(db_path, true);
  Stmt s(*db,
         "INSERT INTO collections(name, embedder, dim, index_kind, metric, chunking, "
         "max_tokens, overlap, max_bytes) VALUES(?,?,?,?,?,?,?,?,?)");
  s.bind(1, name).bind(2, c.embedder).bind(3, c.dim).bind(4, c.index_kind);
  s.bind(5, std::string(index::metric_name(c.metric))).bind(6, chunk_mode_name(c.chunking.mode));
  s.bind(7, c.chunking.max_tokens).bind(8, c.chunking.overlap).bind(9, c.chunking.max_bytes);
  Transaction tx(*db);
  try {
    s.run();
  } catch (const Error&) {
    throw Error(db_path + ": collection '" + name + "' already exists");
  }
  Stmt p(*db, "INSERT INTO bm25(coll, k1, b, stopwords, stem) VALUES(?,?,?,?,?)");
  p.bind(1, db->last_insert_id()).bind(2, c.bm25.k1).bind(3, c.bm25.b);
  p.bind(4, static_cast<int64_t>(c.bm25.analyzer.stopwords));
  p.bind(5, static_cast<int64_t>(c.bm25.analyzer.stem)).run();
  tx.commit();
}

std::vector<std::string> list_collections(const std::string& db_path) {
  auto db = open_store(db_path, false);
  Stmt s(*db, "SELECT name FROM collections ORDER BY name");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

Collection::Collection(const std::string& db_path, const std::string& name)
    : db_path_(db_path), name_(name) {
  db_ = open_store(db_path, false);
  Stmt s(*db_,
         "SELECT id, embedder, dim, index_kind, metric, chunking, max_tokens, overlap, "
         "max_bytes FROM collections WHERE name=?");
  s.bind(1, name);
  if (!s.step()) throw Error(db_path + ": no collection named '" + name + "'");
  coll_id_ = s.int64(0);
  config_.embedder = s.text(1);
  config_.dim = s.int64(2);
  config_.index_kind = s.text(3);
  config_.metric = index::parse_metric(s.text(4));
  config_.chunking.mode = parse_chunk_mode(s.text(5));
  config_.chunking.max_tokens = s.int64(6);
  config_.chunking.overlap = s.int64(7);
  config_.chunking.max_bytes = s.int64(8);
  Stmt p(*db_, "SELECT k1, b, stopwords, stem FROM bm25 WHERE coll=?");
  p.bind(1, coll_id_);
  if (p.step()) {
    config_.bm25.k1 = p.real(0);
    config_.bm25.b = p.real(1);
    config_.bm25.analyzer.stopwords = p.int64(2) != 0;
    config_.bm25.analyzer.stem = p.int64(3) != 0;
  }
  reconcile();
}

Collection::~Collection() = default;

std::string Collection::index_path() const { return db_path_ + "." + name_ + ".idx"; }

void Collection::attach_encoder(const TextEncoder& encoder, const std::string& identity,
                                TokenCountFn count_tokens) {
  if (identity != config_.embedder || encoder.dim() != config_.dim) {
    throw Error("collection '" + name_ + "' was built with embedder [" + config_.embedder +
                "] (dim " + std::to_string(config_.dim) + "), not [" + identity + "] (dim " +
                std::to_string(encoder.dim()) + ")");
  }
  encoder_ = &encoder;
  count_tokens_ = std::move(count_tokens);
}

std::map<std::string, FieldType> Collection::field_types() {
  std::map<std::string, FieldType> out;
  Stmt s(*db_, "SELECT name, type FROM fields WHERE coll=?");
  s.bind(1, coll_id_);
  while (s.step()) out[s.text(0)] = parse_field_type(s.text(1));
  return out;
}

// A batch checked, chunked and embedded, ready to write.
struct Collection::Prepared {
  std::vector<std::vector<ChunkSpan>> chunks;  // per document
  std::vector<float> vectors;                  // (total chunks, dim)
  std::map<std::string, FieldType> new_fields;
};

Collection::Prepared Collection::prepare(const std::vector<DocInput>& docs, ThreadPool& pool,
                                         const std::vector<float>* vectors) {
  Prepared p;
  std::map<std::string, FieldType> types = field_types();
  std::set<std::string> ids;
  std::vector<std::string> texts;
  for (const DocInput& d : docs) {
    if (d.id.empty()) throw Error("collection " + name_ + ": a document has an empty id");
    if (!ids.insert(d.id).second) throw Error("document '" + d.id + "' appears twice in a batch");
    nlohmann::json meta;
    try {
      meta = nlohmann::json::parse(d.metadata);
    } catch (const nlohmann::json::exception&) {
      throw Error("document '" + d.id + "': metadata is not valid JSON");
    }
    if (!meta.is_object()) throw Error("document '" + d.id + "': metadata must be a JSON object");
    for (const auto& [key, v] : meta.items()) {
      std::optional<FieldType> t = json_type(v);
      if (!t) continue;
      auto [it, fresh] = types.emplace(key, *t);
      if (!fresh && it->second != *t) {
        throw Error("document '" + d.id + "': metadata field '" + key + "' is a " +
                    field_type_name(*t) + ", earlier documents have a " +
                    field_type_name(it->second));
      }
      if (fresh) p.new_fields[key] = *t;
    }
    p.chunks.push_back(chunk_text(d.text, config_.chunking, count_tokens_, d.id));
    for (const ChunkSpan& c : p.chunks.back())
      texts.push_back(d.text.substr(c.begin, c.end - c.begin));
  }
  const size_t want = texts.size() * static_cast<size_t>(config_.dim);
  if (vectors != nullptr) {
    if (vectors->size() != want) {
      throw Error("collection " + name_ + ": " + std::to_string(vectors->size()) +
                  " vector values for " + std::to_string(texts.size()) + " chunks of dim " +
                  std::to_string(config_.dim));
    }
    p.vectors = *vectors;
  } else if (!texts.empty()) {
    if (encoder_ == nullptr) throw Error("collection " + name_ + ": no embedder attached");
    p.vectors = encoder_->encode(texts, TextRole::kDocument, pool);
  }
  for (float v : p.vectors)
    if (!std::isfinite(v)) throw Error("collection " + name_ + ": a chunk vector is not finite");
  return p;
}

void Collection::upsert(const std::vector<DocInput>& docs, ThreadPool& pool,
                        const std::vector<float>* vectors) {
  Prepared p = prepare(docs, pool, vectors);
  std::vector<uint64_t> old_ids, new_ids;
  {
    Transaction tx(*db_);
    ChunkDropper drop(*db_, coll_id_);
    Stmt put_d(*db_, "INSERT OR REPLACE INTO documents(coll, id, text, meta) VALUES(?,?,?,?)");
    Stmt put_m(*db_, kPutMetaValues);
    Stmt put_c(*db_, "INSERT INTO chunks(coll, doc, ord, begin, end, vec) VALUES(?,?,?,?,?,?)");
    const size_t row_bytes = static_cast<size_t>(config_.dim) * sizeof(float);
    size_t row = 0;
    for (size_t i = 0; i < docs.size(); ++i) {
      const DocInput& d = docs[i];
      drop.drop(d.id);
      put_d.bind(1, coll_id_).bind(2, d.id).bind(3, d.text).bind(4, d.metadata).run();
      put_m.bind(1, coll_id_).bind(2, d.id).bind(3, d.metadata).run();
      for (size_t c = 0; c < p.chunks[i].size(); ++c, ++row) {
        put_c.bind(1, coll_id_).bind(2, d.id).bind(3, static_cast<int64_t>(c));
        put_c.bind(4, p.chunks[i][c].begin).bind(5, p.chunks[i][c].end);
        put_c.bind_blob(6, p.vectors.data() + row * config_.dim, row_bytes).run();
        new_ids.push_back(static_cast<uint64_t>(db_->last_insert_id()));
      }
    }
    Stmt field(*db_, "INSERT INTO fields(coll, name, type) VALUES(?,?,?)");
    for (const auto& [k, t] : p.new_fields)
      field.bind(1, coll_id_).bind(2, k).bind(3, std::string(field_type_name(t))).run();
    db_->exec("UPDATE collections SET seq = seq + 1 WHERE id=" + std::to_string(coll_id_));
    tx.commit();
    old_ids = std::move(drop.ids);
  }
  forget_vectors(old_ids);
  index_->add(new_ids, p.vectors.data(), &pool);
}

int64_t Collection::remove(const std::vector<std::string>& ids) {
  std::vector<uint64_t> old_ids;
  int64_t existed = 0;
  {
    Transaction tx(*db_);
    ChunkDropper drop(*db_, coll_id_);
    Stmt del_d(*db_, "DELETE FROM documents WHERE coll=? AND id=?");
    for (const std::string& id : ids) {
      drop.drop(id);
      del_d.bind(1, coll_id_).bind(2, id).run();
      existed += db_->changes();
    }
    db_->exec("UPDATE collections SET seq = seq + 1 WHERE id=" + std::to_string(coll_id_));
    tx.commit();
    old_ids = std::move(drop.ids);
  }
  forget_vectors(old_ids);
  return existed;
}

// After a commit the in-memory indexes follow; an old id may be absent if the index was rebuilt.
void Collection::forget_vectors(const std::vector<uint64_t>& ids) {
  std::vector<uint64_t> live;
  for (uint64_t id : ids)
    if (index_->store().slot_of(id) != index::kNoSlot) live.push_back(id);
  index_->remove(live);
  bm25_.reset();
}

}  // namespace loom::retrieval
