// tokenizer.json "truncation" and "padding" against Hugging Face tokenizers (goldens from
// tests/reference/text/hf_trunc_pad_golden.js): BERT (with its [CLS] $A [SEP] post-processor) and a
// Unigram file without post-processor; single texts as one batch and pairs, with and without
// special tokens; the errors HF raises are errors here too. Saving keeps both settings.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/threads.h"
#include "golden_json.h"
#include "test_util.h"
#include "text/tokenizer.h"

namespace {

using nlohmann::json;

const json& golden() {
  static const json j =
      loom::test::load_golden_json("text/hf_goldens/truncation_padding.json");
  return j;
}

std::string base_json(const std::string& base) {
  return loom::read_file(base == "bert"
                             ? loom::test::data_path("tokenizers/bert-base-uncased/tokenizer.json")
                             : loom::test::golden_path("text/sp_unigram1k.tokenizer.json"));
}

void expect_same(const loom::text::Encoding& e, const json& want, const std::string& what) {
  EXPECT_EQ(e.ids, want["ids"].get<std::vector<int32_t>>()) << what;
  std::vector<int> type_ids(e.type_ids.begin(), e.type_ids.end());
  EXPECT_EQ(type_ids, want["type_ids"].get<std::vector<int>>()) << what;
  std::vector<int> mask(e.ids.size(), 1);
  if (!e.attention_mask.empty()) mask.assign(e.attention_mask.begin(), e.attention_mask.end());
  EXPECT_EQ(mask, want["attention_mask"].get<std::vector<int>>()) << what;
  std::vector<int> special(e.special_mask.begin(), e.special_mask.end());
  EXPECT_EQ(special, want["special_mask"].get<std::vector<int>>()) << what;
  ASSERT_EQ(e.offsets.size(), want["offsets"].size()) << what;
  for (size_t i = 0; i < e.offsets.size(); ++i) {
    EXPECT_EQ(e.offsets[i].begin, want["offsets"][i][0].get<uint32_t>()) << what << " token " << i;
    EXPECT_EQ(e.offsets[i].end, want["offsets"][i][1].get<uint32_t>()) << what << " token " << i;
  }
}

void check_config(const loom::text::Tokenizer& tok, const json& cfg, const std::string& label) {
  const json& g = golden();
  std::vector<std::string> singles = g["singles"].get<std::vector<std::string>>();
  std::vector<std::string_view> views(singles.begin(), singles.end());
  loom::ThreadPool pool(2);
  for (const auto& run : cfg["runs"]) {
    const bool special = run["add_special"];
    const std::string what = label + (special ? " add_special" : " no special");
    if (run.contains("singles_error")) {
      EXPECT_THROW(tok.encode_batch(views, special, pool), loom::Error) << what;
    } else {
      auto encs = tok.encode_batch(views, special, pool);
      ASSERT_EQ(encs.size(), run["singles"].size());
      for (size_t i = 0; i < encs.size(); ++i)
        expect_same(encs[i], run["singles"][i], what + " single '" + singles[i] + "'");
      if (!cfg["padding"].is_null() && cfg["padding"]["strategy"].is_string()) continue;
      // Without batch padding, one text alone gives the same as in the batch.
      for (size_t i = 0; i < singles.size(); ++i) {
        expect_same(tok.encode(singles[i], special), run["singles"][i],
                    what + " encode '" + singles[i] + "'");
      }
    }
    for (size_t i = 0; i < run["pairs"].size(); ++i) {
      const std::string a = g["pairs"][i][0], b = g["pairs"][i][1];
      const std::string pw = what + " pair '" + a + "' + '" + b + "'";
      if (run["pairs"][i].contains("error")) {
        EXPECT_THROW(tok.encode_pair(a, b, special), loom::Error) << pw;
      } else {
        expect_same(tok.encode_pair(a, b, special), run["pairs"][i], pw);
      }
    }
  }
}

TEST(TruncationPadding, MatchesHuggingFace) {
  ASSERT_GE(golden()["configs"].size(), 7u);
  for (const auto& cfg : golden()["configs"]) {
    json j = json::parse(base_json(cfg["base"]));
    j["truncation"] = cfg["truncation"];
    j["padding"] = cfg["padding"];
    const std::string label = cfg["base"].get<std::string>() + " truncation " +
                              cfg["truncation"].dump() + " padding " + cfg["padding"].dump();
    auto tok = loom::text::load_tokenizer_json(j.dump(), "cfg.json");
    check_config(*tok, cfg, label);
    // Saved and reloaded: the same settings, written as HF writes them.
    const json saved = json::parse(tok->to_json());
    EXPECT_EQ(saved["truncation"], cfg["truncation"]) << label;
    EXPECT_EQ(saved["padding"], cfg["padding"]) << label;
    auto again = loom::text::load_tokenizer_json(tok->to_json(), "saved.json");
    check_config(*again, cfg, "reloaded " + label);
  }
}

TEST(TruncationPadding, SettersOverrideTheFile) {
  const json& cfg = golden()["configs"][1];
  json j = json::parse(base_json("bert"));
  auto tok = loom::text::load_tokenizer_json(j.dump(), "bert.json");
  ASSERT_FALSE(tok->truncation());
  loom::text::TruncationParams t;
  t.max_length = cfg["truncation"]["max_length"];
  t.stride = cfg["truncation"]["stride"];
  t.direction = loom::text::Side::kLeft;
  tok->set_truncation(t);
  tok->set_padding(loom::text::PaddingParams{});
  check_config(*tok, cfg, "setters");
  tok->set_truncation(std::nullopt);
  tok->set_padding(std::nullopt);
  EXPECT_EQ(tok->encode("a b c d e f g h i j k l m n o p", true).ids.size(), 18u);
}

TEST(TruncationPadding, EncodeIdsHonoursAddSpecial) {
  // The ids-only path goes through encode when truncation is set; it must not add [CLS]/[SEP]
  // unless asked (the CLI's --ids path).
  const json& cfg = golden()["configs"][0];  // BERT, truncation 8, no padding
  json j = json::parse(base_json("bert"));
  j["truncation"] = cfg["truncation"];
  auto tok = loom::text::load_tokenizer_json(j.dump(), "bert.json");
  const auto& singles = golden()["singles"];
  for (const auto& run : cfg["runs"]) {
    const bool special = run["add_special"];
    for (size_t i = 0; i < singles.size(); ++i) {
      std::vector<int32_t> ids = {42};
      tok->encode_ids(singles[i].get<std::string>(), special, ids);
      EXPECT_EQ(ids, run["singles"][i]["ids"].get<std::vector<int32_t>>())
          << (special ? "add_special " : "no special ") << singles[i];
    }
  }
}

TEST(TruncationPadding, BadSettingsNameTheField) {
  json j = json::parse(base_json("bert"));
  const std::pair<json, std::string> bad[] = {
      {{{"truncation", {{"max_length", -1}}}}, "/truncation/max_length"},
      {{{"truncation", {{"max_length", 4}, {"strategy", "Middle"}}}}, "/truncation/strategy"},
      {{{"truncation", {{"max_length", 4}, {"direction", "Up"}}}}, "/truncation/direction"},
      {{{"padding", {{"strategy", {{"Fixed", "x"}}}}}}, "/padding/strategy/Fixed"},
      {{{"padding", {{"strategy", "Longest"}}}}, "/padding/strategy"},
      {{{"padding", {{"strategy", {{"Fixed", int64_t(1) << 40}}}}}}, "/padding/strategy/Fixed"},
      {{{"padding", {{"pad_id", 30522}}}}, "/padding/pad_id"},
  };
  for (const auto& [patch, field] : bad) {
    json k = j;
    k.update(patch);
    try {
      loom::text::load_tokenizer_json(k.dump(), "bad.json");
      ADD_FAILURE() << "loaded " << patch.dump();
    } catch (const loom::Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  }
}

}  // namespace
