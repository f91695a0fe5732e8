// Request parsing and validation of `loom serve` (no sockets): every accepted field lands in the
// struct, every bad value is an ApiError with the right status and the offending param named.
#include "server/request.h"

#include <gtest/gtest.h>

namespace loom::server {
namespace {

const RequestLimits kLimits;

// The ApiError a body raises (status 0 when it parses).
ApiError error_of(const std::string& body, bool chat = false, bool embed = false) {
  try {
    if (embed) {
      parse_embedding_request(body, kLimits);
    } else {
      parse_completion_request(body, chat, kLimits);
    }
  } catch (const ApiError& e) {
    return e;
  }
  return ApiError(0, "parsed");
}

TEST(ServerRequest, CompletionFields) {
  const CompletionRequest r = parse_completion_request(
      R"({"model":"m","prompt":"Hi","max_tokens":7,"temperature":0.5,"top_p":0.9,"top_k":40,
          "stop":["a","b"],"seed":42,"n":3,"logprobs":2,"echo":false,"user":"x","suffix":null})",
      false, kLimits);
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.prompts, std::vector<std::string>{"Hi"});
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_FLOAT_EQ(r.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.top_p, 0.9f);
  EXPECT_EQ(r.top_k, 40);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.seed, 42u);
  EXPECT_EQ(r.n, 3);
  EXPECT_EQ(r.logprobs, 2);
  EXPECT_FALSE(r.stream);
  const CompletionRequest d =
      parse_completion_request(R"({"prompt":["a","b"],"stop":"x"})", false, kLimits);
  EXPECT_EQ(d.prompts.size(), 2u);
  EXPECT_FALSE(d.max_tokens.has_value());
  EXPECT_FLOAT_EQ(d.temperature, 1.0f);
  EXPECT_EQ(d.logprobs, -1);
  EXPECT_EQ(d.stop, std::vector<std::string>{"x"});
  const CompletionRequest t = parse_completion_request(R"({"prompt":[[1,2],[3]]})", false, kLimits);
  EXPECT_EQ(t.prompt_ids, (std::vector<std::vector<int32_t>>{{1, 2}, {3}}));
  EXPECT_EQ(parse_completion_request(R"({"prompt":[5,6]})", false, kLimits).prompt_ids.size(), 1u);
}

TEST(ServerRequest, CompletionRefusals) {
  struct Case {
    const char* body;
    int status;
    const char* param;
  };
  const Case cases[] = {
      {"{bad", 400, ""},
      {"[1]", 400, ""},
      {"{}", 400, "prompt"},
      {R"({"prompt":3})", 400, "prompt"},
      {R"({"prompt":["a",2]})", 400, "prompt[1]"},
      {R"({"prompt":[1,"a"]})", 400, "prompt"},
      {R"({"prompt":[[1],[-2]]})", 400, "prompt[1]"},
      {R"({"prompt":"a","max_tokens":"5"})", 400, "max_tokens"},
      {R"({"prompt":"a","max_tokens":100000})", 400, "max_tokens"},
      {R"({"prompt":"a","temperature":3})", 400, "temperature"},
      {R"({"prompt":"a","top_p":1.5})", 400, "top_p"},
      {R"({"prompt":"a","n":0})", 400, "n"},
      {R"({"prompt":"a","n":2.5})", 400, "n"},
      {R"({"prompt":"a","stop":5})", 400, "stop"},
      {R"({"prompt":"a","stop":["a","b","c","d","e"]})", 400, "stop"},
      {R"({"prompt":"a","stop":""})", 400, "stop"},
      {R"({"prompt":"a","stream":"yes"})", 400, "stream"},
      {R"({"prompt":"a","stream":true,"n":2})", 400, "stream"},
      {R"({"prompt":"a","logprobs":21})", 400, "logprobs"},
      {R"({"prompt":"a","echo":"yes"})", 400, "echo"},
      {R"({"prompt":"a","suffix":"x"})", 400, "suffix"},
      {R"({"prompt":"a","best_of":3})", 400, "best_of"},
      {R"({"prompt":"a","logit_bias":{"1":5}})", 400, "logit_bias"},
      {R"({"prompt":"a","response_format":{"type":"json_schema"}})", 400, "response_format"},
      {R"({"prompt":"a","model":7})", 400, "model"},
      {R"({"prompt":"a","seed":18446744073709551615})", 400, "seed"},
  };
  for (const Case& c : cases) {
    const ApiError e = error_of(c.body);
    EXPECT_EQ(e.status, c.status) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << ": " << e.what();
    if (*c.param) EXPECT_NE(std::string(e.what()).find(c.param), std::string::npos) << e.what();
  }
  EXPECT_EQ(error_of("{bad").code, "invalid_json");
  EXPECT_EQ(error_of(R"({"prompt":"a","n":1e400})").code, "invalid_json");  // found by the fuzzer
}

TEST(ServerRequest, ChatMessages) {
  const CompletionRequest r = parse_completion_request(
      R"({"messages":[{"role":"system","content":"Be brief."},
                      {"role":"user","content":[{"type":"text","text":"Hi "},
                                                {"type":"text","text":"there"}]}],
          "logprobs":true,"top_logprobs":2,"max_completion_tokens":9})",
      true, kLimits);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "Hi there");
  EXPECT_EQ(r.logprobs, 2);
  EXPECT_EQ(r.max_tokens, 9);
  EXPECT_EQ(error_of(R"({"prompt":"a"})", true).param, "messages");
  EXPECT_EQ(error_of(R"({"messages":[]})", true).param, "messages");
  EXPECT_EQ(error_of(R"({"messages":[{"content":"x"}]})", true).param, "messages[0].role");
  EXPECT_EQ(error_of(R"({"messages":[{"role":"user","content":5}]})", true).param,
            "messages[0].content");
  EXPECT_EQ(
      error_of(R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", true).param,
      "messages[0].content");
  EXPECT_EQ(
      error_of(R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":2})", true).param,
      "top_logprobs");
}

TEST(ServerRequest, Embeddings) {
  EmbeddingRequest r = parse_embedding_request(R"({"input":"a","model":"m"})", kLimits);
  EXPECT_EQ(r.texts, std::vector<std::string>{"a"});
  EXPECT_FALSE(r.base64);
  EXPECT_FALSE(r.chunk);
  r = parse_embedding_request(
      R"({"input":["a","b"],"encoding_format":"base64","truncate":"chunk"})", kLimits);
  EXPECT_EQ(r.texts.size(), 2u);
  EXPECT_TRUE(r.base64);
  EXPECT_TRUE(r.chunk);
  r = parse_embedding_request(R"({"input":[[1,2],[3]]})", kLimits);
  EXPECT_EQ(r.token_inputs.size(), 2u);
  EXPECT_EQ(error_of(R"({"input":["a",["b"]]})", false, true).param, "input[1]");
  EXPECT_EQ(error_of(R"({"input":"a","encoding_format":"int8"})", false, true).param,
            "encoding_format");
  EXPECT_EQ(error_of(R"({"input":"a","truncate":"cut"})", false, true).param, "truncate");
  EXPECT_EQ(error_of(R"({"input":[]})", false, true).param, "input");
  EXPECT_EQ(error_of(R"({"inputs":"a"})", false, true).param, "input");
  RequestLimits small;
  small.max_inputs = 2;
  try {
    parse_embedding_request(R"({"input":["a","b","c"]})", small);
    FAIL() << "3 inputs passed a limit of 2";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400);
  }
}

ApiError search_error(const std::string& body) {
  try {
    parse_search_request(body, kLimits);
  } catch (const ApiError& e) {
    return e;
  }
  return ApiError(0, "parsed");
}

TEST(ServerRequest, SearchFields) {
  const SearchQuery q = parse_search_request(
      R"({"collection":"docs","query":"unix shell","k":3,"mode":"hybrid",
          "where":{"year":{"$gte":1990},"lang":{"$in":["en","de"]}},"model":"m"})",
      kLimits);
  EXPECT_EQ(q.collection, "docs");
  EXPECT_EQ(q.query, "unix shell");
  EXPECT_EQ(q.k, 3);
  EXPECT_EQ(q.mode, SearchKind::kHybrid);
  EXPECT_EQ(q.model, "m");
  ASSERT_EQ(q.where.all.size(), 2u);  // year $gte, lang $in
  EXPECT_EQ(search_mode_name(q.mode), std::string("hybrid"));
  const SearchQuery d =
      parse_search_request(R"({"collection":"c","query":"","where":null})", kLimits);
  EXPECT_EQ(d.k, 10);
  EXPECT_EQ(d.mode, SearchKind::kVector);
  EXPECT_TRUE(d.where.empty());
  EXPECT_EQ(parse_search_request(R"({"collection":"c","query":"q","mode":"bm25"})", kLimits).mode,
            SearchKind::kBm25);
}

TEST(ServerRequest, SearchRefusalsNameTheField) {
  struct Case {
    const char* body;
    const char* param;
  } cases[] = {
      {R"({"query":"q"})", "collection"},
      {R"({"collection":"","query":"q"})", "collection"},
      {R"({"collection":7,"query":"q"})", "collection"},
      {R"({"collection":"c"})", "query"},
      {R"({"collection":"c","query":["q"]})", "query"},
      {R"({"collection":"c","query":"q","k":0})", "k"},
      {R"({"collection":"c","query":"q","k":10001})", "k"},
      {R"({"collection":"c","query":"q","k":2.5})", "k"},
      {R"({"collection":"c","query":"q","k":"3"})", "k"},
      {R"({"collection":"c","query":"q","mode":"dense"})", "mode"},
      {R"({"collection":"c","query":"q","mode":1})", "mode"},
      {R"({"collection":"c","query":"q","where":"year=1"})", "where"},
      {R"({"collection":"c","query":"q","where":{"year":{"$near":1}}})", "where"},
      {R"({"collection":"c","query":"q","where":{"year":{"$in":1}}})", "where"},
      {R"({"collection":"c","query":"q","where":{"$and":{}}})", "where"},
  };
  for (const Case& c : cases) {
    const ApiError e = search_error(c.body);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << ": " << e.what();
  }
  EXPECT_NE(std::string(search_error(R"({"collection":"c","query":"q","mode":"dense"})").what())
                .find("dense"),
            std::string::npos);
  EXPECT_EQ(search_error("[1]").status, 400);
  EXPECT_EQ(search_error("{").code, "invalid_json");
}

}  // namespace
}  // namespace loom::server
