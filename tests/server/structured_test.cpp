// issue #17's server points without sockets: response_format (json_object, json_schema with the
// properties' order kept, every unsupported keyword a 400 naming it), echo, logprobs in stream
// events (OpenAI's streaming shapes, text_offset counted across chunks, an echoed prompt's first
// token null), and /v1/search's ef and rrf_k.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/request.h"
#include "server/response.h"

namespace loom::server {
namespace {

using nlohmann::json;

const RequestLimits kLimits;

ApiError error_of(const std::string& body, bool chat = false) {
  try {
    parse_completion_request(body, chat, kLimits);
  } catch (const ApiError& e) {
    return e;
  }
  return ApiError(0, "parsed");
}

std::string with_schema(const std::string& schema) {
  return R"({"prompt":"a","response_format":{"type":"json_schema","json_schema":{"name":"x",)"
         R"("strict":true,"schema":)" +
         schema + "}}}";
}

TEST(ServerStructured, ResponseFormats) {
  EXPECT_EQ(parse_completion_request(R"({"prompt":"a","response_format":{"type":"text"}})", false,
                                     kLimits)
                .schema,
            nullptr);
  const CompletionRequest o = parse_completion_request(
      R"({"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}})",
      true, kLimits);
  ASSERT_NE(o.schema, nullptr);
  generate::JsonRecognizer any(*o.schema);
  EXPECT_TRUE(any.feed(R"({"k":[1,"v"]})") && any.finished());
  // Properties in the body's order ("zeta" before "alpha"), not sorted.
  const CompletionRequest r = parse_completion_request(
      with_schema(R"({"type":"object","properties":{"zeta":{"type":"integer"},
                     "alpha":{"type":"boolean"}},"required":["zeta","alpha"]})"),
      false, kLimits);
  ASSERT_NE(r.schema, nullptr);
  generate::JsonRecognizer in_order(*r.schema), sorted(*r.schema);
  EXPECT_TRUE(in_order.feed(R"({"zeta":1,"alpha":true})") && in_order.finished());
  EXPECT_FALSE(sorted.feed(R"({"alpha":true,"zeta":1})"));
}

TEST(ServerStructured, UnsupportedSchemaIs400NamingTheKeyword) {
  for (const char* kw : {"pattern", "$ref", "format", "minimum", "maximum", "multipleOf", "oneOf",
                         "allOf", "not", "if", "patternProperties", "uniqueItems", "contains",
                         "prefixItems", "minProperties", "$defs", "dependentRequired"}) {
    const ApiError e =
        error_of(with_schema(std::string(R"({"type":"array","items":{")") + kw + R"(":"x"}})"));
    EXPECT_EQ(e.status, 400) << kw;
    EXPECT_EQ(e.param, "response_format") << kw;
    EXPECT_EQ(e.code, "unsupported_schema") << kw;
    EXPECT_NE(std::string(e.what()).find(std::string("'") + kw + "'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("json_schema.schema.items"), std::string::npos)
        << e.what();
  }
  for (const char* body :
       {R"({"prompt":"a","response_format":"json"})",
        R"({"prompt":"a","response_format":{"type":"xml"}})",
        R"({"prompt":"a","response_format":{"type":"json_schema"}})",
        R"({"prompt":"a","response_format":{"type":"json_schema","json_schema":{"schema":{}}}})",
        R"({"prompt":"a","response_format":{"type":"json_schema","json_schema":{"name":"x"}}})",
        R"({"prompt":"a","response_format":{"type":"json_schema","json_schema":{"name":"x",
            "strict":"yes","schema":{}}}})"}) {
    const ApiError e = error_of(body);
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_EQ(e.param, "response_format") << body << ": " << e.what();
  }
}

TEST(ServerStructured, EchoAndConflicts) {
  const CompletionRequest r = parse_completion_request(
      R"({"prompt":"a","echo":true,"logprobs":2,"stream":true})", false, kLimits);
  EXPECT_TRUE(r.echo && r.stream);
  EXPECT_EQ(r.logprobs, 2);
  const CompletionRequest c = parse_completion_request(
      R"({"messages":[{"role":"user","content":"x"}],"logprobs":true,"stream":true})", true,
      kLimits);
  EXPECT_EQ(c.logprobs, 0);
  EXPECT_EQ(error_of(R"({"messages":[{"role":"user","content":"x"}],"echo":true})", true).param,
            "echo");
  EXPECT_EQ(
      error_of(R"({"prompt":"a","echo":true,"response_format":{"type":"json_object"}})").param,
      "echo");
  EXPECT_EQ(error_of(R"({"prompt":"a","stop":"}","response_format":{"type":"json_object"}})").param,
            "stop");
}

TEST(ServerStructured, StreamEventLogprobs) {
  const std::vector<TokenInfo> toks = {{"He", -0.5f, {{"He", -0.5f}}}, {"y", -2.0f, {}}};
  json j = json::parse(stream_event({"c", 1, "m"}, false, "Hey", false, "", &toks, 7).substr(6));
  const json& lp = j["choices"][0]["logprobs"];
  EXPECT_EQ(lp["tokens"], json({"He", "y"}));
  EXPECT_EQ(lp["token_logprobs"], json({-0.5, -2.0}));
  EXPECT_EQ(lp["text_offset"], json({7, 9}));
  EXPECT_EQ(lp["top_logprobs"][0]["He"], -0.5);
  j = json::parse(stream_event({"c", 1, "m"}, true, "Hey", true, "", &toks).substr(6));
  EXPECT_EQ(j["choices"][0]["logprobs"]["content"][1]["token"], "y");
  EXPECT_EQ(j["choices"][0]["logprobs"]["content"][1]["logprob"], -2.0);
  j = json::parse(stream_event({"c", 1, "m"}, false, "x", false, "").substr(6));
  EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
  // An echoed prompt's first token has no condition: null logprob and alternatives.
  TokenInfo first{"<s>", 0, {}, false};
  Choice echo{0, "ab", "length", std::vector<TokenInfo>{first, {"ab", -1.0f, {}}}};
  j = json::parse(completion_json({"x", 0, "m"}, false, {echo}, {}));
  EXPECT_TRUE(j["choices"][0]["logprobs"]["token_logprobs"][0].is_null());
  EXPECT_TRUE(j["choices"][0]["logprobs"]["top_logprobs"][0].is_null());
  EXPECT_EQ(j["choices"][0]["logprobs"]["token_logprobs"][1], -1.0);
}

TEST(ServerStructured, SearchEfAndRrfK) {
  SearchQuery q = parse_search_request(
      R"({"collection":"c","query":"q","mode":"hybrid","ef":200,"rrf_k":10})", kLimits);
  EXPECT_EQ(q.ef, 200);
  EXPECT_EQ(q.rrf_k, 10.0);
  q = parse_search_request(R"({"collection":"c","query":"q"})", kLimits);
  EXPECT_EQ(q.ef, 0);
  EXPECT_FALSE(q.rrf_k.has_value());
  for (const auto& [body, param] : std::vector<std::pair<const char*, const char*>>{
           {R"({"collection":"c","query":"q","ef":0})", "ef"},
           {R"({"collection":"c","query":"q","ef":10001})", "ef"},
           {R"({"collection":"c","query":"q","ef":"big"})", "ef"},
           {R"({"collection":"c","query":"q","mode":"bm25","ef":50})", "ef"},
           {R"({"collection":"c","query":"q","mode":"hybrid","rrf_k":-1})", "rrf_k"},
           {R"({"collection":"c","query":"q","rrf_k":60})", "rrf_k"}}) {
    try {
      parse_search_request(body, kLimits);
      ADD_FAILURE() << body << " parsed";
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status, 400) << body;
      EXPECT_EQ(e.param, param) << body << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace loom::server
