// Response building of `loom serve` (no sockets): OpenAI's shapes, base64 float bytes, SSE
// framing, Prometheus text, and the bounded admission.
#include "server/response.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/metrics.h"

namespace loom::server {
namespace {

using nlohmann::json;

TEST(ServerResponse, Base64FloatsAreLittleEndianBytes) {
  const float v[] = {1.0f, -2.5f};
  EXPECT_EQ(base64_floats(v, 1), "AACAPw==");      // 00 00 80 3f
  EXPECT_EQ(base64_floats(v, 2), "AACAPwAAIMA=");  // ... 00 00 20 c0
  EXPECT_EQ(base64_floats(v, 0), "");
}

TEST(ServerResponse, CompletionShapes) {
  Choice c{0, "Hi", "length",
           std::vector<TokenInfo>{{"Hi", -0.5f, {{"Hi", -0.5f}, {"Yo", -1.5f}}}}};
  json j = json::parse(completion_json({"cmpl-1", 7, "m"}, false, {c}, {3, 1}));
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "Hi");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["choices"][0]["logprobs"]["tokens"], json({"Hi"}));
  EXPECT_EQ(j["choices"][0]["logprobs"]["top_logprobs"][0]["Yo"], -1.5);
  EXPECT_EQ(j["usage"]["total_tokens"], 4);
  j = json::parse(completion_json({"chatcmpl-1", 7, "m"}, true, {c}, {3, 1}));
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hi");
  EXPECT_EQ(j["choices"][0]["logprobs"]["content"][0]["top_logprobs"][1]["token"], "Yo");
  EXPECT_EQ(j["choices"][0]["logprobs"]["content"][0]["bytes"], json({72, 105}));
  // Invalid UTF-8 (a byte token) becomes U+FFFD instead of an exception.
  Choice bad{0, "a\xff", "stop", std::nullopt};
  j = json::parse(completion_json({"x", 0, "m"}, false, {bad}, {}));
  EXPECT_EQ(j["choices"][0]["text"], "a\xef\xbf\xbd");
}

TEST(ServerResponse, StreamEvents) {
  const std::string ev = stream_event({"c", 1, "m"}, true, "Hel", true, "");
  ASSERT_EQ(ev.rfind("data: ", 0), 0u);
  ASSERT_EQ(ev.substr(ev.size() - 2), "\n\n");
  json j = json::parse(ev.substr(6));
  EXPECT_EQ(j["object"], "chat.completion.chunk");
  EXPECT_EQ(j["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["delta"]["content"], "Hel");
  EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null());
  j = json::parse(stream_event({"c", 1, "m"}, false, "", false, "stop").substr(6));
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["choices"][0]["text"], "");
}

TEST(ServerResponse, EmbeddingsAndErrors) {
  const std::vector<float> v = {0.1f, -0.2f, 0.3f, 0.4f};
  json j = json::parse(embeddings_json("m", v, 2, false, 5));
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][1]["index"], 1);
  EXPECT_EQ(j["data"][1]["embedding"][0].get<float>(), 0.3f);  // round-trips exactly
  EXPECT_EQ(j["usage"]["prompt_tokens"], 5);
  j = json::parse(embeddings_json("m", v, 2, true, 5));
  EXPECT_EQ(j["data"][0]["embedding"], base64_floats(v.data(), 2));
  j = json::parse(error_json(ApiError(404, "nope", "model", "invalid_request_error", "x")));
  EXPECT_EQ(j["error"]["message"], "nope");
  EXPECT_EQ(j["error"]["param"], "model");
  j = json::parse(error_json(ApiError(400, "bad")));
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_TRUE(j["error"]["code"].is_null());
  EXPECT_EQ(json::parse(models_json("m", 3))["data"][0]["id"], "m");
}

TEST(ServerResponse, SearchShape) {
  const std::vector<SearchHit> hits = {{"d1", "unix shell", R"({"year": 1991})", 0.8125, 4, 14},
                                       {"d2", "x", "not json", -1.5, 0, 1}};
  const json j = json::parse(search_json("m", "docs", "hybrid", hits));
  EXPECT_EQ(j["object"], "list");
  EXPECT_EQ(j["model"], "m");
  EXPECT_EQ(j["collection"], "docs");
  EXPECT_EQ(j["mode"], "hybrid");
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][0]["id"], "d1");
  EXPECT_EQ(j["data"][0]["score"].get<double>(), 0.8125);
  EXPECT_EQ(j["data"][0]["text"], "unix shell");
  EXPECT_EQ(j["data"][0]["metadata"]["year"], 1991);
  EXPECT_EQ(j["data"][0]["chunk"], json::array({4, 14}));
  EXPECT_TRUE(j["data"][1]["metadata"].is_null());  // unreadable metadata: null, no exception
  EXPECT_EQ(json::parse(search_json("m", "docs", "bm25", {}))["data"].size(), 0u);
}

TEST(ServerMetrics, PrometheusText) {
  Metrics m;
  m.record("/v1/completions", 200, 0.02);
  m.record("/v1/completions", 200, 2.0);
  m.record("/v1/completions", 400, 0.0005);
  m.add_generated(30, 0.5);
  const std::string s = m.prometheus(3, 1);
  auto has = [&](const std::string& line) { return s.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("loom_requests_total{endpoint=\"/v1/completions\",status=\"200\"} 2")) << s;
  EXPECT_TRUE(has("loom_requests_total{endpoint=\"/v1/completions\",status=\"400\"} 1")) << s;
  EXPECT_TRUE(
      has("loom_request_duration_seconds_bucket{endpoint=\"/v1/completions\",le=\"0.001\"} 1"));
  EXPECT_TRUE(
      has("loom_request_duration_seconds_bucket{endpoint=\"/v1/completions\",le=\"0.025\"} 2"));
  EXPECT_TRUE(
      has("loom_request_duration_seconds_bucket{endpoint=\"/v1/completions\",le=\"+Inf\"} 3"));
  EXPECT_TRUE(has("loom_request_duration_seconds_count{endpoint=\"/v1/completions\"} 3"));
  EXPECT_TRUE(has("loom_generated_tokens_total 30"));
  EXPECT_TRUE(has("loom_generated_tokens_per_second 60"));
  EXPECT_TRUE(has("loom_queue_depth 3"));
  EXPECT_TRUE(has("loom_requests_running 1"));
}

TEST(ServerMetrics, AdmissionRefusesBeyondQueueAndWhenClosed) {
  using E = Admission::Entry;
  Admission a(1, 0);  // one slot, nobody may wait
  EXPECT_EQ(a.enter(), E::Admitted);
  EXPECT_EQ(a.enter(), E::Full);
  EXPECT_EQ(a.running(), 1);
  a.leave();
  EXPECT_EQ(a.enter(), E::Admitted);
  std::thread drain([&] { a.close_and_drain(); });           // returns once the running one leaves
  while (a.enter() != E::Closed) std::this_thread::yield();  // Full until closed
  a.leave();
  drain.join();
  EXPECT_EQ(a.running(), 0);
  EXPECT_EQ(a.enter(), E::Closed);
}

}  // namespace
}  // namespace loom::server
