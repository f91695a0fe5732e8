#include "embed/inputs.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace loom::embed {
namespace {

TEST(Inputs, TextLinesSkipBlankAndKeepLineNumbers) {
  TextItems t = parse_text_lines("first\r\n\nsecond\nthird");
  EXPECT_EQ(t.ids, (std::vector<std::string>{"1", "3", "4"}));
  EXPECT_EQ(t.texts, (std::vector<std::string>{"first", "second", "third"}));
}

TEST(Inputs, JsonlJoinsFieldsAndReadsIds) {
  JsonlOptions o;
  o.fields = {"title", "text"};
  TextItems t = parse_jsonl_items(
      "{\"_id\": \"a\", \"title\": \"T\", \"text\": \"body\"}\n\n"
      "{\"_id\": 7, \"title\": \"\", \"text\": \"only\"}\n{\"_id\": \"c\", \"title\": null}\n",
      "x.jsonl", o);
  EXPECT_EQ(t.ids, (std::vector<std::string>{"a", "7", "c"}));
  EXPECT_EQ(t.texts, (std::vector<std::string>{"T body", "only", ""}));
  o.id_field = "";
  t = parse_jsonl_items("{\"text\": \"q\"}\n\n{\"text\": \"r\"}\n", "x.jsonl", o);
  EXPECT_EQ(t.ids, (std::vector<std::string>{"1", "3"}));
}

TEST(Inputs, MalformedLinesNameTheLineOrAreSkipped) {
  const std::string bad =
      "{\"_id\": \"a\", \"text\": \"ok\"}\n[1]\n{\"_id\": \"a\", \"text\": \"dup\"}\n"
      "{\"text\": \"no id\"}\n{\"_id\": \"b\", \"text\": 3}\n{\"_id\": \"c\", \"text\": \"ok\"\n"
      "{\"_id\": \"d\", \"text\": \"fine\"}\n";
  JsonlOptions o;
  try {
    parse_jsonl_items(bad, "in.jsonl", o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("in.jsonl:2: expected a JSON object"), std::string::npos)
        << e.what();
  }
  std::vector<std::string> issues;
  o.skip_malformed = true;
  o.issues = &issues;
  TextItems t = parse_jsonl_items(bad, "in.jsonl", o);
  EXPECT_EQ(t.ids, (std::vector<std::string>{"a", "d"}));
  ASSERT_EQ(issues.size(), 5u);
  EXPECT_NE(issues[1].find("in.jsonl:3: id \"a\" appears twice"), std::string::npos) << issues[1];
  EXPECT_NE(issues[2].find("in.jsonl:4: field \"_id\" missing"), std::string::npos) << issues[2];
  EXPECT_NE(issues[3].find("in.jsonl:5: field \"text\": expected a string"), std::string::npos);
  EXPECT_NE(issues[4].find("in.jsonl:6: not valid JSON"), std::string::npos) << issues[4];
  o.fields.clear();
  EXPECT_THROW(parse_jsonl_items(bad, "in.jsonl", o), Error);
}

}  // namespace
}  // namespace loom::embed
