// Unigram tokenizer.json (model Unigram, Precompiled normalizer, Metaspace variants) against
// Hugging Face tokenizers: hand-made files (goldens from tests/reference/text/hf_unigram_cases.js) and
// the SpmConverter-style conversion of spm_train's sp_unigram1k.model
// (tests/reference/text/sp_unigram_json.py); save -> reload keeps every id.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "golden_json.h"
#include "test_util.h"
#include "text/tokenizer.h"

namespace {

using nlohmann::json;

const json& cases() {
  static const json j =
      loom::test::load_golden_json("text/hf_goldens/unigram_cases.json");
  return j;
}

void expect_cases(const loom::text::Tokenizer& tok, const json& cfg, const std::string& what) {
  for (const auto& c : cfg["cases"]) {
    const std::string text = c["text"];
    auto e = tok.encode(text, false);
    EXPECT_EQ(e.ids, c["ids"].get<std::vector<int32_t>>()) << what << " text '" << text << "'";
    ASSERT_EQ(e.offsets.size(), c["offsets"].size()) << what << " text '" << text << "'";
    for (size_t i = 0; i < e.offsets.size(); ++i) {
      EXPECT_EQ(e.offsets[i].begin, c["offsets"][i][0].get<uint32_t>())
          << what << " text '" << text << "' token " << i;
      EXPECT_EQ(e.offsets[i].end, c["offsets"][i][1].get<uint32_t>())
          << what << " text '" << text << "' token " << i;
    }
  }
}

TEST(UnigramJson, HandMadeCasesMatchHuggingFace) {
  ASSERT_GE(cases()["configs"].size(), 5u);
  for (const auto& cfg : cases()["configs"]) {
    const std::string src = cfg["tokenizer"].dump();
    auto tok = loom::text::load_tokenizer_json(src, "case.json");
    const std::string label = cfg["tokenizer"]["pre_tokenizer"].dump() + " byte_fallback " +
                              cfg["tokenizer"]["model"]["byte_fallback"].dump();
    expect_cases(*tok, cfg, label);
    // Saved and reloaded: same ids, and the stages written back as HF wrote them.
    auto again = loom::text::load_tokenizer_json(tok->to_json(), "saved.json");
    expect_cases(*again, cfg, "reloaded " + label);
    const json saved = json::parse(tok->to_json());
    EXPECT_EQ(saved["pre_tokenizer"], cfg["tokenizer"]["pre_tokenizer"]);
    EXPECT_EQ(saved["model"], cfg["tokenizer"]["model"]);
  }
}

TEST(UnigramJson, NoUnkIdIsAnErrorAsInHuggingFace) {
  const json& c = cases()["no_unk"];
  ASSERT_FALSE(c["error"].is_null());  // HF refused too
  auto tok = loom::text::load_tokenizer_json(c["tokenizer"].dump(), "no_unk.json");
  EXPECT_THROW(tok->encode(c["text"].get<std::string>(), false), loom::Error);
  EXPECT_NO_THROW(tok->encode("ab", false));
}

TEST(UnigramJson, ConvertedSentencePieceModelSavesAndReloads) {
  const std::string path = loom::test::golden_path("text/sp_unigram1k.tokenizer.json");
  auto tok = loom::text::load_tokenizer(path);
  EXPECT_EQ(tok->vocab_size(), 1000);
  EXPECT_EQ(tok->info().model, "Unigram");
  const std::string saved = tok->to_json();
  const json a = json::parse(loom::read_file(path)), b = json::parse(saved);
  // The charsmap goes back out byte for byte; the normalizer and pre-tokenizer unchanged.
  EXPECT_EQ(a["normalizer"], b["normalizer"]);
  EXPECT_EQ(a["pre_tokenizer"], b["pre_tokenizer"]);
  EXPECT_EQ(a["model"]["vocab"].size(), b["model"]["vocab"].size());
  auto again = loom::text::load_tokenizer_json(saved, "saved.json");
  const std::string text = loom::read_file(loom::test::data_path("corpora/ptb/ptb.valid.txt"));
  size_t lines = 0;
  for (size_t pos = 0; pos < text.size() && lines < 500; ++lines) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    ASSERT_EQ(tok->encode(line, false).ids, again->encode(line, false).ids) << "line " << lines;
    pos = nl + 1;
  }
}

TEST(UnigramJson, PrecompiledNeverCrashesOnArbitraryBytes) {
  auto tok = loom::text::load_tokenizer(loom::test::golden_path("text/sp_unigram1k.tokenizer.json"));
  const std::string inputs[] = {std::string("\xFF\xFE a\xC3", 5),
                                std::string("\xE2\x80", 2),
                                "e\xCC\x81\xCC\x81\xCC\x81 x",
                                "\r\n\r\n",
                                std::string(3, '\0'),
                                "\xEF\xBC\xA1\xEF\xBD\xB6\xEF\xBE\x9E"};
  for (const auto& s : inputs) {
    auto e = tok->encode(s, false);
    for (size_t i = 0; i < e.ids.size(); ++i) {
      EXPECT_GE(e.ids[i], 0);
      EXPECT_LT(e.ids[i], tok->vocab_size());
      EXPECT_LE(e.offsets[i].end, s.size());
    }
  }
}

TEST(UnigramJson, BadFilesNameTheField) {
  const char* bad[][2] = {
      {R"({"model": {"type": "Unigram", "unk_id": 5, "vocab": [["a", -1]]}})", "/model/unk_id"},
      {R"({"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a"]]}})", "/model/vocab/0"},
      {R"({"model": {"type": "Unigram", "unk_id": 0, "vocab": []}})", "/model/vocab"},
      {R"({"normalizer": {"type": "Precompiled", "precompiled_charsmap": "@@"},
           "model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", -1]]}})",
       "precompiled_charsmap"},
      {R"({"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAAA"},
           "model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", -1]]}})",
       "precompiled_charsmap"},
  };
  for (const auto& [text, field] : bad) {
    try {
      loom::text::load_tokenizer_json(text, "bad.json");
      ADD_FAILURE() << "loaded: " << text;
    } catch (const loom::Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
