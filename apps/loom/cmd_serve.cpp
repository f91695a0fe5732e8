// `loom serve`: the OpenAI-compatible HTTP server (apps/server) over one loaded model.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "adapter_flags.h"
#include "cli.h"
#include "core/error.h"
#include "retrieval/doc_store.h"
#include "server/engine.h"
#include "server/search.h"
#include "server/server.h"

namespace {

using loom::cli::Args;
using loom::cli::UsageError;

loom::server::ServerConfig server_flags(const Args& a) {
  loom::server::ServerConfig c;
  c.host = a.str("host", "127.0.0.1");
  const long long port = a.integer("port", 8080);
  if (port < 0 || port > 65535) throw UsageError{"--port must be in 0..65535"};
  c.port = static_cast<int>(port);
  c.workers = a.threads();
  c.max_queue = a.integer("max-queue", 64);
  if (c.max_queue < 0 || c.max_queue > 100000) throw UsageError{"--max-queue must be in 0..100000"};
  const long long body = a.integer("max-body", 16 << 20);
  if (body < 1) throw UsageError{"--max-body must be >= 1"};
  c.max_body = static_cast<size_t>(body);
  c.limits.max_tokens = a.integer("max-tokens", 512);
  if (c.limits.max_tokens < 1) throw UsageError{"--max-tokens must be >= 1"};
  c.api_key = a.str("api-key", "");
  return c;
}

// --db: the store's collections, which must have been created with this model's embedder (the
// identity `loom collection create` records from the same flags).
std::unique_ptr<loom::server::SearchService> search_flags(const Args& a,
                                                          const loom::server::Engine& engine) {
  if (!a.has("db")) return nullptr;
  std::string id =
      loom::retrieval::embedder_identity(a.need("model"), a.str("tokenizer"), engine.embedder());
  if (a.has("adapter"))
    id += " adapter=" + std::filesystem::absolute(a.str("adapter")).lexically_normal().string();
  auto s = std::make_unique<loom::server::SearchService>(a.str("db"), engine.embedder(), id);
  std::string names;
  for (const std::string& n : s->collections()) names += (names.empty() ? "" : ", ") + n;
  std::fprintf(stderr, "loom serve: /v1/search over %s: %s\n", a.str("db").c_str(),
               names.empty() ? "no collections yet" : names.c_str());
  return s;
}

// SIGTERM/SIGINT are blocked in every thread and taken by one waiting thread, which stops the
// server: it stops accepting, in-flight requests finish, run() returns.
int run_serve(const Args& a) {
  loom::server::ServerConfig cfg = server_flags(a);
  loom::cli::ModelWithTokenizer m = loom::cli::load_model_flags(a);
  loom::server::EngineOptions eo;
  eo.model_path = a.need("model");
  eo.tokenizer = m.tokenizer;
  eo.chat_config = a.str("chat-template", "");
  eo.name = a.str("model-name", "");
  eo.embed_max_tokens = a.integer("embed-max-tokens", -1);
  loom::server::Engine engine(m.model, eo);
  const std::unique_ptr<loom::server::SearchService> search = search_flags(a, engine);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // before any server thread exists
  loom::server::Server server(engine, cfg, search.get());
  const int port = server.bind();
  std::fprintf(stderr, "loom serve: %s (%s) as '%s' on http://%s:%d, %lld worker(s)%s\n",
               m.model->config().describe().c_str(), m.model->weights().format().c_str(),
               engine.name().c_str(), cfg.host.c_str(), port, static_cast<long long>(cfg.workers),
               engine.has_chat_template() ? ", chat template loaded" : "");
  std::fflush(stderr);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    server.stop();
  });
  server.run();
  pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter if run() ended by itself
  waiter.join();
  std::fprintf(stderr, "loom serve: stopped\n");
  return 0;
}

}  // namespace

LOOM_COMMAND("serve", "serve a model over an OpenAI-compatible HTTP API",
             {
                 {"model", "FILE",
                  "model: .gguf, .safetensors / Hugging Face folder, llama2.c .bin", ""},
                 {"tokenizer", "FILE", "tokenizer file (default: the model's own)", ""},
                 loom::cli::adapter_flag(),
                 {"chat-template", "FILE",
                  "tokenizer_config.json with the chat_template (default: the one beside the "
                  "model)",
                  ""},
                 {"model-name", "NAME", "the model id clients send (default: the file's name)", ""},
                 {"host", "ADDR", "address to listen on", "127.0.0.1"},
                 {"port", "N", "port (0 = any free port; the chosen one is printed)", "8080"},
                 {"api-key", "KEY", "require Authorization: Bearer KEY on /v1/", ""},
                 {"max-queue", "N", "requests that may wait for a worker; more get 503", "64"},
                 {"max-body", "BYTES", "largest request body; larger gets 413", "16777216"},
                 {"max-tokens", "N", "most tokens a request may generate", "512"},
                 {"embed-max-tokens", "N",
                  "embedding window in tokens; longer inputs are refused or chunked (0 = the "
                  "context length; default: the model's sentence_bert_config.json, else 0)",
                  ""},
                 {"db", "FILE",
                  "document store (loom collection) to search at /v1/search; its collections "
                  "must use this model as their embedder",
                  ""},
             },
             run_serve,
             "--threads N sets how many requests run at once (each on one core).\n"
             "Routes: GET /health /v1/models /metrics; POST /v1/completions,\n"
             "/v1/chat/completions (stream: true for server-sent events), /v1/embeddings,\n"
             "/v1/search (with --db: {\"collection\", \"query\", \"k\", \"mode\", \"where\"}).\n"
             "SIGTERM or SIGINT: stop accepting, finish in-flight requests, exit 0.\n"
             "Example:\n"
             "  loom serve --model stories260K.gguf --port 8080 --threads 4");
