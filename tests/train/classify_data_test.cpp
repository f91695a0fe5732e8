// Classification data: SST-2's TSV and JSONL read into ids with [CLS]/[SEP] and labels; long
// texts keep their closing token; every bad line is one error naming FILE:LINE.
#include "train/classify_data.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_util.h"

namespace loom::train {
namespace {

class ClassifyData : public ::testing::Test {
 protected:
  void SetUp() override {
    tok_ = text::load_tokenizer(loom::test::golden_path("models/infer_bert/bert_hf/vocab.txt"));
    o_.tokenizer = tok_.get();
  }
  // The message of the error parsing `text` throws ("" when none).
  std::string error_of(const std::string& text, bool jsonl) {
    try {
      parse_classify_data(text, "d.tsv", jsonl, o_);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  std::unique_ptr<text::Tokenizer> tok_;
  ClassifyDataOptions o_;
};

TEST_F(ClassifyData, ReadsTsvAndJsonl) {
  const auto tsv =
      parse_classify_data("sentence\tlabel\nthe cat is \t1\n\nit was\t0\n", "d.tsv", false, o_);
  ASSERT_EQ(tsv.size(), 2u);
  EXPECT_EQ(tsv[0].ids, (std::vector<int32_t>{2, 5, 1, 11, 3}));  // [CLS] the [UNK] is [SEP]
  EXPECT_EQ(tsv[0].label, 1);
  EXPECT_EQ(tsv[0].line, 2);
  EXPECT_EQ(tsv[1].line, 4);
  EXPECT_EQ(tsv[1].label, 0);
  const auto js =
      parse_classify_data("{\"text\": \"it was\", \"label\": 2}\n", "d.jsonl", true, o_);
  ASSERT_EQ(js.size(), 1u);
  EXPECT_EQ(js[0].ids, tsv[1].ids);
  EXPECT_EQ(count_labels(js), 3);
  EXPECT_EQ(count_labels(tsv), 2);
  o_.max_len = 3;
  const auto cut = parse_classify_data("label\ttext\n1\tthe the the the\n", "d.tsv", false, o_);
  EXPECT_EQ(cut[0].ids, (std::vector<int32_t>{2, 5, 3}));
}

TEST_F(ClassifyData, BadLinesNameFileAndLine) {
  EXPECT_EQ(error_of("", false), "d.tsv:0: no examples");
  EXPECT_EQ(error_of("sentence\tlabel\n", false), "d.tsv:1: no examples");
  EXPECT_NE(error_of("words\tlabel\nthe\t1\n", false).find("d.tsv:1: header"), std::string::npos);
  EXPECT_NE(error_of("sentence\tlabel\nthe\t1\nthe\n", false).find("d.tsv:3: expected 2"),
            std::string::npos);
  EXPECT_NE(error_of("sentence\tlabel\nthe\tpos\n", false).find("d.tsv:2: label \"pos\""),
            std::string::npos);
  EXPECT_NE(error_of("sentence\tlabel\n \t1\n", false).find("d.tsv:2: empty text"),
            std::string::npos);
  o_.num_labels = 2;
  EXPECT_NE(error_of("sentence\tlabel\nthe\t1\nit\t2\n", false).find("d.tsv:3: label \"2\""),
            std::string::npos);
  EXPECT_NE(error_of("{\"text\": \"the\"}\n", true).find("d.tsv:1: missing integer field"),
            std::string::npos);
  EXPECT_NE(error_of("{\"text\": \"the\", \"label\": 1}\n[1]\n", true).find("d.tsv:2: expected a"),
            std::string::npos);
}

}  // namespace
}  // namespace loom::train
