#include "server/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "generate/codec.h"
#include "server/metrics.h"
#include "server/response.h"

namespace loom::server {

namespace {

using Clock = std::chrono::steady_clock;

const char* const kRoutes[] = {
    "/health",        "/metrics",  "/v1/models", "/v1/completions", "/v1/chat/completions",
    "/v1/embeddings", "/v1/search"};

// A metrics label: known routes by name, anything else as "other" (bounded label set).
std::string endpoint_label(const std::string& path) {
  for (const char* r : kRoutes)
    if (path == r) return r;
  return "other";
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(error_json(e), "application/json");
}

// The client went away mid-stream: unwinds the generation.
struct ClientGone {};

}  // namespace

struct Server::Impl {
  Impl(const Engine& e, ServerConfig c, const SearchService* s)
      : engine(e), searcher(s), config(std::move(c)), admission(config.workers, config.max_queue) {}

  void routes();
  void hooks();
  void completion(const httplib::Request& req, httplib::Response& res, bool chat);
  void embeddings(const httplib::Request& req, httplib::Response& res);
  void search(const httplib::Request& req, httplib::Response& res);
  void stream(httplib::Response& res, std::shared_ptr<PreparedCompletion> p,
              std::shared_ptr<Slot> slot);
  std::shared_ptr<Slot> admit();
  void check_model(const std::string& model) const;
  ResponseMeta meta(bool chat);
  template <class F>
  void answer(httplib::Response& res, F&& fn);

  const Engine& engine;
  const SearchService* searcher;
  ServerConfig config;
  Admission admission;
  Metrics metrics;
  httplib::Server http;
  std::atomic<uint64_t> next_id{1};
  std::mutex start_mu;
  std::map<std::thread::id, Clock::time_point> started;  // request start, by handling thread
};

template <class F>
void Server::Impl::answer(httplib::Response& res, F&& fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const Error& e) {  // bad input found deeper in the library (a token, a template)
    send_error(res, ApiError(400, e.what()));
  } catch (const std::exception& e) {
    send_error(res, ApiError(500, std::string("internal error: ") + e.what(), "", "server_error"));
  }
}

std::shared_ptr<Slot> Server::Impl::admit() {
  switch (admission.enter()) {
    case Admission::Entry::Admitted:
      return std::make_shared<Slot>(admission);
    case Admission::Entry::Closed:
      throw ApiError(503, "server shutting down", "", "server_error", "shutting_down");
    case Admission::Entry::Full:
      break;
  }
  throw ApiError(503,
                 "server busy: " + std::to_string(config.max_queue) +
                     " requests already wait for a worker; retry later",
                 "", "server_error", "queue_full");
}

void Server::Impl::check_model(const std::string& model) const {
  if (!model.empty() && model != engine.name()) {
    throw ApiError(404,
                   "model '" + model + "' not found; this server serves '" + engine.name() + "'",
                   "model", "invalid_request_error", "model_not_found");
  }
}

ResponseMeta Server::Impl::meta(bool chat) {
  char id[32];
  std::snprintf(id, sizeof id, "%s%016llx", chat ? "chatcmpl-" : "cmpl-",
                static_cast<unsigned long long>(next_id++));
  return {id, static_cast<int64_t>(std::time(nullptr)), engine.name()};
}

void Server::Impl::completion(const httplib::Request& req, httplib::Response& res, bool chat) {
  answer(res, [&] {
    const CompletionRequest r = parse_completion_request(req.body, chat, config.limits);
    check_model(r.model);
    const int64_t def =
        chat ? config.limits.max_tokens : std::min<int64_t>(16, config.limits.max_tokens);
    auto p = std::make_shared<PreparedCompletion>(engine.prepare(r, def));
    std::shared_ptr<Slot> slot = admit();
    if (r.stream) return stream(res, std::move(p), std::move(slot));
    const CompletionOutput out = engine.run(*p);
    metrics.add_generated(out.usage.completion_tokens, out.decode_seconds);
    res.set_content(completion_json(meta(chat), chat, out.choices, out.usage), "application/json");
  });
}

void Server::Impl::stream(httplib::Response& res, std::shared_ptr<PreparedCompletion> p,
                          std::shared_ptr<Slot> slot) {
  const bool chat = p->request.chat;
  const ResponseMeta m = meta(chat);
  res.set_header("Cache-Control", "no-cache");
  // The whole generation runs inside the provider's first call, holding the worker slot.
  res.set_chunked_content_provider(
      "text/event-stream", [this, p, slot, m, chat](size_t, httplib::DataSink& sink) {
        bool first = true;
        generate::Utf8Stream utf8;  // events never split a UTF-8 character
        const bool lp = p->request.logprobs >= 0;
        std::vector<TokenInfo> pending;  // tokens generated since the last event
        int64_t offset = 0;              // text bytes streamed so far (completions' text_offset)
        auto send = [&](std::string_view text, const std::string& finish) {
          const std::string ev = stream_event(m, chat, text, first, finish,
                                              lp && !pending.empty() ? &pending : nullptr, offset);
          first = false;
          for (const TokenInfo& t : pending) offset += static_cast<int64_t>(t.text.size());
          pending.clear();
          if (!sink.write(ev.data(), ev.size())) throw ClientGone{};
        };
        try {
          const CompletionOutput out = engine.run(
              *p,
              [&](std::string_view s) {
                const std::string t = utf8.push(s);
                if (!t.empty()) send(t, "");
              },
              lp ? [&](const TokenInfo& t) { pending.push_back(t); }
                 : std::function<void(const TokenInfo&)>());
          metrics.add_generated(out.usage.completion_tokens, out.decode_seconds);
          if (const std::string t = utf8.flush(); !t.empty()) send(t, "");
          send("", out.choices.at(0).finish_reason);
          sink.write(kStreamDone.data(), kStreamDone.size());
        } catch (const ClientGone&) {
          return false;
        } catch (const std::exception& e) {  // headers are out: the error goes as an event
          const std::string ev =
              "data: " + error_json(ApiError(500, e.what(), "", "server_error")) + "\n\n";
          sink.write(ev.data(), ev.size());
        }
        sink.done();
        return true;
      });
}

void Server::Impl::embeddings(const httplib::Request& req, httplib::Response& res) {
  answer(res, [&] {
    const EmbeddingRequest r = parse_embedding_request(req.body, config.limits);
    check_model(r.model);
    std::shared_ptr<Slot> slot = admit();
    const EmbeddingOutput out = engine.embed(r);
    res.set_content(embeddings_json(engine.name(), out.vectors, out.dim, r.base64, out.tokens),
                    "application/json");
  });
}

void Server::Impl::search(const httplib::Request& req, httplib::Response& res) {
  answer(res, [&] {
    if (searcher == nullptr) {
      throw ApiError(404, "no document store: start loom serve with --db FILE to search", "",
                     "invalid_request_error", "no_document_store");
    }
    const SearchQuery q = parse_search_request(req.body, config.limits);
    check_model(q.model);
    std::shared_ptr<Slot> slot = admit();
    const std::vector<SearchHit> hits = searcher->search(q);
    res.set_content(search_json(engine.name(), q.collection, search_mode_name(q.mode), hits),
                    "application/json");
  });
}

void Server::Impl::routes() {
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(models_json(engine.name(), static_cast<int64_t>(std::time(nullptr))),
                    "application/json");
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.prometheus(admission.waiting(), admission.running()),
                    "text/plain; version=0.0.4");
  });
  http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    completion(req, res, false);
  });
  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    completion(req, res, true);
  });
  http.Post("/v1/embeddings",
            [this](const httplib::Request& req, httplib::Response& res) { embeddings(req, res); });
  http.Post("/v1/search",
            [this](const httplib::Request& req, httplib::Response& res) { search(req, res); });
}

void Server::Impl::hooks() {
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(start_mu);
      started[std::this_thread::get_id()] = Clock::now();
    }
    if (config.api_key.empty() || req.path.rfind("/v1/", 0) != 0)
      return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + config.api_key)
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, "missing or wrong API key (send Authorization: Bearer KEY)", "",
                             "invalid_request_error", "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // already an OpenAI error object
    if (res.status == 413 &&
        req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
      // cpp-httplib caps form-encoded bodies at 8192 bytes whatever --max-body says (curl -d
      // sends that type unless told otherwise).
      send_error(res, ApiError(413,
                               "form-encoded request body over 8192 bytes: send "
                               "Content-Type: application/json",
                               "", "invalid_request_error", "request_too_large"));
    } else if (res.status == 413) {
      send_error(
          res,
          ApiError(413, "request body larger than " + std::to_string(config.max_body) + " bytes",
                   "", "invalid_request_error", "request_too_large"));
    } else if (res.status == 404) {
      send_error(res, ApiError(404, "no route " + req.method + " " + req.path));
    } else {
      send_error(res, ApiError(res.status, "HTTP " + std::to_string(res.status)));
    }
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    double seconds = 0;
    {
      std::lock_guard<std::mutex> lock(start_mu);
      auto it = started.find(std::this_thread::get_id());
      if (it != started.end()) {
        seconds = std::chrono::duration<double>(Clock::now() - it->second).count();
        started.erase(it);
      }
    }
    metrics.record(endpoint_label(req.path), res.status, seconds);
  });
}

Server::Server(const Engine& engine, ServerConfig config, const SearchService* search)
    : impl_(std::make_unique<Impl>(engine, std::move(config), search)) {
  Impl& s = *impl_;
  s.http.set_payload_max_length(s.config.max_body);
  // httplib's default options add SO_REUSEPORT, which lets a second server bind a port already
  // in use and silently share its traffic; SO_REUSEADDR alone still allows a quick restart.
  s.http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Enough connection threads for every worker, every queued request and a few cheap GETs.
  const size_t threads = static_cast<size_t>(s.config.workers + s.config.max_queue + 4);
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.routes();
  s.hooks();
}

Server::~Server() = default;

int Server::bind() {
  Impl& s = *impl_;
  int port = s.config.port;
  if (port == 0) {
    port = s.http.bind_to_any_port(s.config.host);
  } else if (!s.http.bind_to_port(s.config.host, port)) {
    port = -1;
  }
  if (port < 0) {
    throw Error("serve: cannot listen on " + s.config.host + ":" + std::to_string(s.config.port) +
                " (address in use or not local?)");
  }
  return port;
}

void Server::run() { impl_->http.listen_after_bind(); }

// Drains before it stops the listener: httplib skips a streaming response's provider once it is
// stopping, so a stream admitted just before would otherwise end empty. Until then new model
// requests are answered 503.
void Server::stop() {
  impl_->admission.close_and_drain();
  impl_->http.stop();
}

}  // namespace loom::server
