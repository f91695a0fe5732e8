// Multiple-choice scoring: stories260K's per-choice log-likelihoods, predictions and token split
// equal lm-evaluation-harness's rules run in PyTorch (tests/reference/eval/multiple_choice_golden.py),
// including a context past the model's 512 positions (left truncation); acc/acc_norm arithmetic,
// the glossary task's draws and the JSONL reader's errors.
#include "eval/multiple_choice.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "eval/choice_items.h"
#include "golden_json.h"
#include "test_util.h"
#include "text/tokenizer.h"

namespace loom::eval {
namespace {

std::vector<int32_t> ids_of(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

TEST(MultipleChoice, Stories260KMatchesTheHarnessInPyTorch) {
  LOOM_REQUIRE_DATA(test::data_path("models/stories260K/stories260K.bin"));
  auto model = models::load_model(test::data_path("models/stories260K/stories260K.bin"));
  auto tok = text::load_tokenizer(test::data_path("models/stories260K/tok512.model"));
  const Encode encode = [&](const std::string& s) {
    std::vector<int32_t> ids;
    tok->encode_ids(s, false, ids);
    ids.insert(ids.begin(), 1);  // BOS, as the golden's [1] + sp.encode(...)
    return ids;
  };
  const auto golden = test::load_golden_json("eval/multiple_choice.json");
  ThreadPool pool(2);
  std::vector<TokenizedChoices> items;
  for (const auto& c : golden["cases"]) {
    ChoiceItem item{c["context"], c["choices"].get<std::vector<std::string>>(), c["gold"]};
    TokenizedChoices t = tokenize_choices(item, encode);
    ASSERT_EQ(t.context, ids_of(c["context_ids"]));
    for (size_t k = 0; k < t.choices.size(); ++k) {
      ASSERT_EQ(t.choices[k], ids_of(c["choice_ids"][k])) << item.choices[k];
      ASSERT_EQ(t.choice_bytes[k], static_cast<int64_t>(item.choices[k].size()));
    }
    const std::vector<double> ll = choice_logliks(*model, pool, t);
    for (size_t k = 0; k < ll.size(); ++k) {
      const double want = c["logliks"][k].get<double>();
      EXPECT_NEAR(ll[k], want, 1e-4 * std::max(1.0, std::abs(want))) << item.context.size() << k;
    }
    items.push_back(std::move(t));
  }
  EXPECT_GT(items.back().context.size(), 512u);  // the truncated case is there
  const ChoiceResult r = score_choices(*model, pool, items);
  int64_t right = 0, right_norm = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(r.predicted[i], golden["cases"][i]["pred"].get<int64_t>()) << i;
    EXPECT_EQ(r.predicted_norm[i], golden["cases"][i]["pred_norm"].get<int64_t>()) << i;
    right += r.predicted[i] == items[i].gold;
    right_norm += r.predicted_norm[i] == items[i].gold;
  }
  EXPECT_EQ(r.items, 4);
  EXPECT_DOUBLE_EQ(r.acc, right / 4.0);
  EXPECT_DOUBLE_EQ(r.acc_norm, right_norm / 4.0);
  EXPECT_NE(r.acc, r.acc_norm);  // one case is right only when normalised by length
  EXPECT_DOUBLE_EQ(r.acc_stderr, std::sqrt(r.acc * (1 - r.acc) / 3.0));
}

TEST(MultipleChoice, TrailingWhitespaceMovesToTheChoice) {
  const Encode chars = [](const std::string& s) {  // one token per byte, BOS 0
    std::vector<int32_t> ids{0};
    for (unsigned char ch : s) ids.push_back(ch);
    return ids;
  };
  const TokenizedChoices t = tokenize_choices({"Q:  \t", {"yes", "no!"}, 1}, chars);
  EXPECT_EQ(t.context, (std::vector<int32_t>{0, 'Q', ':'}));
  EXPECT_EQ(t.choices[0], (std::vector<int32_t>{' ', ' ', '\t', 'y', 'e', 's'}));
  EXPECT_EQ(t.choice_bytes, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(t.gold, 1);
  EXPECT_THROW(tokenize_choices({"Q", {"a"}, 1}, chars), Error);
  EXPECT_THROW(tokenize_choices({"Q", {"a", ""}, 0}, chars), Error);  // no tokens
}

TEST(MultipleChoice, DefinitionTaskDrawsDistinctDistractorsWithTheSeed) {
  std::vector<std::pair<std::string, std::string>> g;
  for (int i = 0; i < 30; ++i)
    g.emplace_back("term" + std::to_string(i),
                   "Definition number " + std::to_string(i) + ". A second sentence.");
  g.emplace_back("long", std::string(50, 'x') + " " + std::string(50, 'y') + " tail");
  const auto a = definition_task(g, 4, 7, 0, 80), b = definition_task(g, 4, 7, 0, 80);
  ASSERT_EQ(a.size(), g.size());
  std::set<int64_t> golds;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].context, g[i].first + "\t");
    ASSERT_EQ(a[i].choices.size(), 4u);
    EXPECT_EQ(std::set<std::string>(a[i].choices.begin(), a[i].choices.end()).size(), 4u);
    EXPECT_EQ(a[i].choices, b[i].choices);  // the seed fixes the draws
    golds.insert(a[i].gold);
  }
  EXPECT_EQ(golds.size(), 4u);  // the gold moves among the positions
  EXPECT_EQ(a[3].choices[static_cast<size_t>(a[3].gold)], "Definition number 3.");
  EXPECT_EQ(a.back().choices[static_cast<size_t>(a.back().gold)], std::string(50, 'x'));
  EXPECT_NE(definition_task(g, 4, 8, 0, 80)[0].choices, a[0].choices);
  EXPECT_EQ(definition_task(g, 4, 7, 5, 80).size(), 5u);
  EXPECT_THROW(definition_task({g.data(), 3}, 4, 7, 0, 80), Error);  // too few definitions
}

TEST(MultipleChoice, JsonlErrorsNameTheLine) {
  const auto ok = parse_choice_items_jsonl(
      "{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"gold\": 1}\n\n", "t.jsonl");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].choices[1], "c");
  const auto error_of = [](const std::string& text) {
    return test::error_of([&] { parse_choice_items_jsonl(text, "t.jsonl"); });
  };
  const std::string good = "{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"gold\": 0}\n";
  EXPECT_EQ(error_of(good + "{\"context\": \"a\", \"choices\": [\"b\"], \"gold\": 0}"),
            "t.jsonl:2: missing \"choices\" (an array of at least 2 strings)");
  EXPECT_EQ(error_of(good + good + "{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"gold\": 2}"),
            "t.jsonl:3: \"gold\" 2 is not an index of the 2 choices");
  EXPECT_EQ(error_of("[1]"), "t.jsonl:1: expected a JSON object, got array");
  EXPECT_EQ(error_of("{\"context\": 1"), "t.jsonl:1: not valid JSON (expected one item object per line)");
  EXPECT_EQ(error_of("\n \n"), "t.jsonl: no multiple-choice items");
}

}  // namespace
}  // namespace loom::eval
