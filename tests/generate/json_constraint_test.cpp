// Constrained decoding to a JSON schema (generate/json_constraint.h), as a property: whatever the
// logits (random ones, many seeds, temperature 1 so the draws wander) and whatever the model
// (stories260K, sampled), every output that ends does so as a complete text that parses as JSON
// and validates against its schema (checked by the small validator below, independent of the
// recogniser); an output cut by the token limit is still a prefix the recogniser accepts. The
// mask agrees with a token-by-token check of every token.
#include "generate/json_constraint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "generate/codec.h"
#include "generate/sampler.h"
#include "models/model.h"
#include "test_util.h"

namespace loom::generate {
namespace {

using nlohmann::json;

int64_t code_points(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool has_type(const json& v, const std::string& t) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "number") return v.is_number();
  if (t == "integer") return v.is_number_integer();
  if (t == "boolean") return v.is_boolean();
  return t == "null" && v.is_null();
}

// JSON Schema validation for the supported subset, written from the specification.
bool valid(const json& v, const json& s) {
  if (s.contains("anyOf"))
    return std::any_of(s["anyOf"].begin(), s["anyOf"].end(),
                       [&](const json& a) { return valid(v, a); });
  if (s.contains("const") && v != s["const"]) return false;
  if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end())
    return false;
  if (s.contains("type")) {
    const json ts = s["type"].is_array() ? s["type"] : json::array({s["type"]});
    if (std::none_of(ts.begin(), ts.end(), [&](const json& t) { return has_type(v, t); }))
      return false;
  }
  if (v.is_string()) {
    const int64_t n = code_points(v.get<std::string>());
    if (n < s.value("minLength", 0) || n > s.value("maxLength", INT64_MAX)) return false;
  }
  if (v.is_array()) {
    const auto n = static_cast<int64_t>(v.size());
    if (n < s.value("minItems", 0) || n > s.value("maxItems", INT64_MAX)) return false;
    for (const json& x : v)
      if (s.contains("items") && !valid(x, s["items"])) return false;
  }
  if (v.is_object()) {
    const json props = s.value("properties", json::object());
    for (const json& r : s.value("required", json::array()))
      if (!v.contains(r.get<std::string>())) return false;
    for (const auto& [k, x] : v.items()) {
      if (props.contains(k) ? !valid(x, props[k]) : s.value("additionalProperties", true) == false)
        return false;
    }
  }
  return true;
}

// A vocabulary of single bytes (printable ASCII, a few UTF-8 lead/continuation bytes) and longer
// pieces a JSON tokenizer would have, plus an empty control token and EOS (id 0).
TokenTexts test_vocabulary() {
  std::vector<std::string> t = {"", ""};
  for (int c = 0x20; c < 0x7F; ++c) t.emplace_back(1, static_cast<char>(c));
  for (const char* p :
       {"\xc3",  "\xa9", "\xe2\x82", "\xac", "\n",   "{\"",  "\":",   "\",\"", "\"}", "true",
        "false", "null", "name",     "na",   "me\"", "12",   "0.",    "e-",    "[]",  "{}",
        "[{",    "}]",   "\":\"",    " the", "age",  "tags", "\\u00", "\\n",   "}}"})
    t.emplace_back(p);
  return TokenTexts(std::move(t), {0});
}

const char* const kSchemas[] = {
    R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},
        "age":{"type":"integer"},"score":{"type":"number"},"ok":{"type":"boolean"},
        "tags":{"type":"array","items":{"enum":["a","b",3,null]},"minItems":1,"maxItems":3},
        "kind":{"anyOf":[{"type":"string","minLength":2,"maxLength":4},{"type":"null"},
                         {"type":"array","items":{"type":"integer"},"maxItems":2}]}},
        "required":["name","tags","kind"],"additionalProperties":false})",
    R"({"type":"array","items":{"type":"object","properties":{"k":{"const":{"x":[1,2]}},
        "v":{"type":["string","null"]}},"required":["v"]},"maxItems":4})",
    R"({"type":"number"})",
    R"({"anyOf":[{"enum":[1,12,"x"]},{"type":"integer"}]})",
    R"({})",
};

// Draws until the constraint is finished or EOS is drawn (a complete text) or `limit` tokens.
struct Drawn {
  std::string text;
  bool ended = false;
};
Drawn draw_text(JsonConstraint& c, const TokenTexts& vocab, uint64_t seed, int limit) {
  Rng rng(seed);
  Sampler sampler(SamplerConfig{.temperature = 1.0f, .seed = seed});
  std::vector<float> logits(static_cast<size_t>(vocab.size()));
  Drawn d;
  for (int i = 0; i < limit && !c.finished(); ++i) {
    for (float& l : logits) l = static_cast<float>(rng.uniform_double() * 6.0 - 3.0);
    c.mask(logits);
    const int32_t t = sampler.sample(logits, {});
    c.accept(t);
    if (vocab.is_end(t)) break;
    d.text += vocab.text(t);
  }
  d.ended = c.finished();
  return d;
}

TEST(JsonConstraint, RandomLogitsAlwaysGiveValidJson) {
  const TokenTexts vocab = test_vocabulary();
  int completed = 0;
  for (const char* schema_text : kSchemas) {
    const json schema = json::parse(schema_text);
    const JsonSchema s = JsonSchema::parse(schema_text);
    for (uint64_t seed = 1; seed <= 60; ++seed) {
      JsonConstraint c(s, vocab);
      const Drawn d = draw_text(c, vocab, seed, 400);
      JsonRecognizer check(s);
      ASSERT_TRUE(check.feed(d.text)) << schema_text << " seed " << seed << ": " << d.text;
      if (!d.ended) continue;
      ++completed;
      ASSERT_TRUE(check.complete()) << d.text;
      const json v = json::parse(d.text, nullptr, false);
      ASSERT_FALSE(v.is_discarded()) << "not JSON: " << d.text;
      EXPECT_TRUE(valid(v, schema)) << schema_text << " seed " << seed << ": " << d.text;
    }
  }
  EXPECT_GE(completed, 200) << "too few draws ended";  // 300 draws; most end well before 400
}

// After each prefix (fed through one-byte tokens), the vocabulary walk's mask equals checking
// every token alone.
void expect_mask_agrees(const TokenTexts& vocab) {
  const JsonSchema s = JsonSchema::parse(kSchemas[0]);
  for (const char* prefix : {"", "{", R"({"name":"ab)", R"({"name":"x","tags":[)",
                             "{\"name\":\"\xc3", R"({"name":"x","tags":["a"],"kind":[1)"}) {
    JsonConstraint c(s, vocab);
    for (const char ch : std::string(prefix)) {
      int32_t id = 0;
      while (vocab.text(id) != std::string(1, ch)) ++id;
      c.accept(id);
    }
    std::vector<float> logits(static_cast<size_t>(vocab.size()), 0.0f);
    c.mask(logits);
    int allowed = 0;
    for (int32_t id = 0; id < vocab.size(); ++id) {
      allowed += c.allowed(id);
      EXPECT_EQ(std::isinf(logits[static_cast<size_t>(id)]), !c.allowed(id))
          << prefix << " token " << id << " '" << vocab.text(id) << "'";
    }
    EXPECT_GT(allowed, 0) << prefix;
  }
}

TEST(JsonConstraint, MaskAgreesWithTokenByTokenCheck) {
  expect_mask_agrees(test_vocabulary());
  const std::string path = test::data_path("models/stories260K/stories260K.gguf");
  LOOM_REQUIRE_DATA(path);
  auto model = models::load_model(path);
  expect_mask_agrees(TokenTexts::from_codec(*load_codec(*model, "")));
}

// The generator's hook: stories260K sampled at temperature 1 under the schema; every output that
// ends (EOS, finish "stop") validates; outputs cut by max tokens are accepted prefixes.
TEST(JsonConstraint, GeneratorOutputsValidate) {
  const std::string path = test::data_path("models/stories260K/stories260K.gguf");
  LOOM_REQUIRE_DATA(path);
  auto model = models::load_model(path);
  auto codec = load_codec(*model, "");
  const TokenTexts vocab = TokenTexts::from_codec(*codec);
  ThreadPool pool(1);
  Generator gen(*model, *codec, pool);
  const char* schema_text = kSchemas[0];
  const JsonSchema s = JsonSchema::parse(schema_text);
  int ended = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    JsonConstraint c(s, vocab);
    GenerateOptions opt;
    opt.max_new_tokens = 120;
    opt.constraint = &c;
    SamplerConfig sc;
    sc.seed = seed;
    const GenerateResult r = gen.generate("Once upon a time", opt, sc, auto_sampler_kind(sc));
    JsonRecognizer check(s);
    ASSERT_TRUE(check.feed(r.text)) << r.text;
    if (r.stop_reason != "eos") continue;
    ++ended;
    const json v = json::parse(r.text, nullptr, false);
    ASSERT_FALSE(v.is_discarded()) << r.text;
    EXPECT_TRUE(valid(v, json::parse(schema_text))) << r.text;
  }
  EXPECT_GE(ended, 6);
}

}  // namespace
}  // namespace loom::generate
