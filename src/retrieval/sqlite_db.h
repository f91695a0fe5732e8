// A small RAII wrapper over SQLite's C API: a connection (Db) and prepared statements (Stmt).
// Every failure is a loom::Error naming the database file and SQLite's message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace loom::retrieval {

class Db;

class Stmt {
 public:
  Stmt(Db& db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Parameters are 1-based, as in SQLite.
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::string_view text);
  Stmt& bind_blob(int i, const void* data, size_t bytes);
  Stmt& bind_null(int i);
  // True while a row is available; false once done. Throws on error.
  bool step();
  // Runs to completion (for statements without rows), then resets for reuse.
  void run();
  void reset();

  int64_t int64(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  const void* blob(int col) const;
  int bytes(int col) const;
  bool is_null(int col) const;

 private:
  Db& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Db {
 public:
  // Opens (creating when create) path. busy_timeout 5 s.
  Db(const std::string& path, bool create);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }
  // Runs one or more statements without results.
  void exec(std::string_view sql);
  // The first column of the first row of a query as text ("" when none).
  std::string query_text(std::string_view sql);
  int64_t changes() const;
  int64_t last_insert_id() const;
  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted (an exception on the way).
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  void commit();

 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace loom::retrieval
