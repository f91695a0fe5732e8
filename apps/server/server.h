// `loom serve`'s HTTP front: OpenAI-compatible routes on cpp-httplib over one Engine.
//   GET  /health, /v1/models, /metrics
//   POST /v1/completions, /v1/chat/completions (stream: server-sent events), /v1/embeddings,
//        /v1/search (with a document store: search.h)
// Requests run on a bounded pool: `workers` at once, `max_queue` more waiting, the rest 503.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "server/engine.h"
#include "server/request.h"
#include "server/search.h"

namespace loom::server {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (bind() says which)
  int64_t workers = 1;
  int64_t max_queue = 64;
  size_t max_body = 16u << 20;  // bytes; larger bodies are 413
  std::string api_key;          // "": no key needed
  RequestLimits limits;
};

class Server {
 public:
  // search: the --db store's collections (nullptr: /v1/search answers 404).
  Server(const Engine& engine, ServerConfig config, const SearchService* search = nullptr);
  ~Server();
  // Binds the listening socket; returns the port. A loom::Error when it cannot.
  int bind();
  // Serves until stop(); returns once in-flight requests have finished.
  void run();
  // Graceful stop, safe from another thread: new model requests get 503, in-flight ones finish,
  // then the listener closes and run() returns.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom::server
