// The JSON-schema recogniser (generate/json_schema.h) on hand-written texts, keyword by keyword:
// each valid text is accepted whole (complete), each invalid one is refused at the first byte
// that cannot lead to a valid text; unsupported keywords are refused by name.
#include "generate/json_schema.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace loom::generate {
namespace {

// "ok": accepted and complete; "prefix": accepted, not complete; "dead": refused.
std::string verdict(const JsonSchema& s, std::string_view text) {
  JsonRecognizer r(s);
  if (!r.feed(text)) return "dead";
  return r.complete() ? "ok" : "prefix";
}

void expect_texts(const char* schema, std::initializer_list<const char*> ok,
                  std::initializer_list<const char*> dead,
                  std::initializer_list<const char*> prefix = {}) {
  const JsonSchema s = JsonSchema::parse(schema);
  for (const char* t : ok) EXPECT_EQ(verdict(s, t), "ok") << schema << " on " << t;
  for (const char* t : dead) EXPECT_EQ(verdict(s, t), "dead") << schema << " on " << t;
  for (const char* t : prefix) EXPECT_EQ(verdict(s, t), "prefix") << schema << " on " << t;
}

TEST(JsonSchemaRecognizer, Types) {
  expect_texts(R"({"type":"string"})", {R"("")", R"("a b")", R"("\n\u00e9\"")", "\"\xc3\xa9\""},
               {"\"\x01\"", R"("\x")", R"("\ud800")", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "a",
                R"("a"")", R"( "a")"},
               {R"("abc)", "\"\xe2\x82"});
  expect_texts(R"({"type":"number"})", {"0", "-0", "12.5", "1e9", "-3.25E-07", "7"},
               {"01", ".5", "--1", "+1", "1 ", "0x1", "1e100"}, {"-", "1.5e+", "1.", "1e"});
  expect_texts(R"({"type":"integer"})", {"0", "-12", "123456789012345678"},
               {"1.5", "1e3", "1234567890123456789"}, {"-"});
  expect_texts(R"({"type":"boolean"})", {"true", "false"}, {"True", "truex", "null"}, {"tru"});
  expect_texts(R"({"type":"null"})", {"null"}, {"0"}, {"nul"});
  expect_texts(R"({"type":["string","null"]})", {R"("x")", "null"}, {"1", "true"});
  expect_texts(R"({})", {R"({"a":[1,{"b":null}],"c":"d"})", "[]", "-1.5", R"("s")"},
               {"{a:1}", R"({"a":1,})", "[1,]", R"({"a" :1})"});
}

TEST(JsonSchemaRecognizer, ObjectKeywords) {
  const char* person = R"({"type":"object","properties":{"name":{"type":"string"},
      "age":{"type":"integer"},"nick":{"type":"string"}},"required":["name","nick"],
      "additionalProperties":false})";
  expect_texts(person, {R"({"name":"a","age":3,"nick":"b"})", R"({"name":"a","nick":"b"})"},
               {R"({"age":3,"name":"a","nick":"b"})", R"({"name":"a"})", R"({"nick":"b"})",
                R"({"name":"a","nick":"b","age":3})", R"({"name":"a","name":"a")", R"({"x":1})",
                R"({})", R"({"name":1)"},
               {R"({"name":"a")", R"({"name":"a","ag)"});
  // Optional only: any subset in order, the empty object too; keys sharing a prefix.
  expect_texts(R"({"properties":{"a":{"type":"integer"},"ab":{"type":"integer"}}})",
               {"{}", R"({"a":1})", R"({"ab":2})", R"({"a":1,"ab":2})"},
               {R"({"ab":2,"a":1})", R"({"abc":1})"});
  expect_texts(R"({"type":"object","additionalProperties":false})", {"{}"}, {R"({"a":1})"});
  expect_texts(R"({"type":"object"})", {"{}", R"({"any":{"x":[true]}})"}, {"[]"});
}

TEST(JsonSchemaRecognizer, ArrayStringEnumAnyOf) {
  expect_texts(R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":2})",
               {"[1]", "[1,2]"}, {"[]", "[1,2,3]", "[1.5]", R"(["a"])"}, {"[1", "[1,"});
  expect_texts(R"({"type":"string","minLength":2,"maxLength":3})",
               {R"("ab")", R"("abc")", "\"\xc3\xa9\xc3\xa9\"", R"("\n\t")"},
               {R"("a")", R"("abcd")"});
  expect_texts(R"({"enum":["red","green",1,12,null,{"k":[1]}]})",
               {R"("red")", R"("green")", "1", "12", "null", R"({"k":[1]})"},
               {R"("blue")", "2", "123", R"("re")", R"({"k":[2]})"}, {R"("gr)"});
  expect_texts(R"({"const":"x"})", {R"("x")"}, {R"("y")"});
  expect_texts(R"({"type":"string","enum":["a","b"]})", {R"("a")"}, {R"("c")"});
  expect_texts(R"({"anyOf":[{"type":"string","maxLength":1},{"type":"array","items":{"enum":[1]}},
                            {"const":"long"}]})",
               {R"("a")", R"("long")", "[1,1]"}, {R"("ab")", "[2]", "1"});
  // Nesting: an array of objects holding anyOf values.
  expect_texts(R"({"type":"array","items":{"type":"object","properties":{"v":{"anyOf":[
      {"type":"integer"},{"type":"null"}]}},"required":["v"]}})",
               {R"([{"v":1},{"v":null}])"}, {R"([{"v":"x"}])", R"([{}])"});
}

TEST(JsonSchemaRecognizer, CompleteAndFinished) {
  const JsonSchema num = JsonSchema::parse(R"({"type":"number"})");
  JsonRecognizer r(num);
  ASSERT_TRUE(r.feed("12"));
  EXPECT_TRUE(r.complete());
  EXPECT_FALSE(r.finished());  // more digits may follow
  const JsonSchema obj = JsonSchema::any_object();
  JsonRecognizer o(obj);
  ASSERT_TRUE(o.feed(R"({"a":1})"));
  EXPECT_TRUE(o.complete() && o.finished());
  EXPECT_FALSE(o.feed(" "));
  EXPECT_TRUE(o.dead());
  JsonRecognizer top(obj);
  EXPECT_FALSE(top.feed("[1]"));  // json_object: an object only
}

TEST(JsonSchemaParse, UnsupportedKeywordsAreNamed) {
  for (const char* kw : {"pattern", "$ref", "format", "minimum", "oneOf", "allOf", "not",
                         "patternProperties", "uniqueItems", "$defs"}) {
    const std::string schema =
        std::string(R"({"type":"object","properties":{"a":{"type":"string",")") + kw +
        R"(":"x"}}})";
    const std::string msg = test::error_of([&] { JsonSchema::parse(schema, "s"); });
    EXPECT_NE(msg.find(std::string("'") + kw + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("s.properties.a"), std::string::npos) << msg;
  }
  struct Case {
    const char* schema;
    const char* says;
  };
  for (const Case& c :
       {Case{"[1]", "expected a schema"}, Case{R"({"type":"date"})", "date"},
        Case{R"({"type":"object","required":["x"]})", "required"},
        Case{R"({"type":"array","minItems":3,"maxItems":2})", "minItems > maxItems"},
        Case{R"({"additionalProperties":{"type":"string"}})", "additionalProperties"},
        Case{R"({"enum":[]})", "enum"}, Case{R"({"type":"string","enum":[1]})", "enum"},
        Case{R"({"anyOf":[]})", "anyOf"}, Case{R"({"anyOf":[{}],"type":"string"})", "type"},
        Case{R"({"type":"array","items":[{}]})", "items"}, Case{"false", "false"},
        Case{"{", "not valid JSON"}, Case{R"({"maxLength":-1})", "maxLength"}}) {
    const std::string msg = test::error_of([&] { JsonSchema::parse(c.schema); });
    EXPECT_NE(msg.find(c.says), std::string::npos) << c.schema << ": " << msg;
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += R"({"items":)";
  deep += "{}" + std::string(100, '}');
  EXPECT_NE(test::error_of([&] { JsonSchema::parse(deep); }).find("deeper"), std::string::npos);
}

}  // namespace
}  // namespace loom::generate
