// Token-classification data: CoNLL (tabs or CoNLL-2003's space columns, blank lines between
// sentences, -DOCSTART- skipped) and JSONL read into words and tags; on bert-base-uncased's real
// WordPiece vocabulary each word's label sits on its first sub-token (found by encoding the word
// alone) and -100 on the rest and on [CLS]/[SEP]; truncation keeps [SEP]; every bad line is one
// error naming FILE:LINE.
#include "train/token_classify_data.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "test_util.h"
#include "train/objectives.h"

namespace loom::train {
namespace {

std::string error_of(const std::string& text, bool jsonl) {
  try {
    parse_tagged_sentences(text, "d.conll", jsonl);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TokenClassifyData, ReadsConllAndJsonl) {
  const auto c = parse_tagged_sentences(
      "-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\nPeter\tB-PER\n"
      "Blackburn\tI-PER\r\n",
      "d.conll", false);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].words, (std::vector<std::string>{"EU", "rejects"}));
  EXPECT_EQ(c[0].tags, (std::vector<std::string>{"B-ORG", "O"}));
  EXPECT_EQ(c[0].line, 3);
  EXPECT_EQ(c[1].tags, (std::vector<std::string>{"B-PER", "I-PER"}));
  EXPECT_EQ(c[1].line, 7);
  EXPECT_EQ(tag_names(c), (std::vector<std::string>{"B-ORG", "B-PER", "I-PER", "O"}));
  const auto j = parse_tagged_sentences(
      "{\"tokens\": [\"a\", \"b\"], \"tags\": [\"O\", \"B-X\"]}\n\n"
      "{\"tokens\": [\"c\"], \"ner_tags\": [\"O\"]}\n",
      "d.jsonl", true);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0].tags, (std::vector<std::string>{"O", "B-X"}));
  EXPECT_EQ(j[1].line, 3);
}

TEST(TokenClassifyData, LabelsTheFirstSubTokenOfEachWord) {
  const auto tok =
      text::load_tokenizer(loom::test::data_path("tokenizers/bert-base-uncased/vocab.txt"));
  const std::vector<TaggedSentence> s = {{{"Tokenization", "of", "unaffectedly", "long", "words"},
                                          {"B-T", "O", "B-T", "I-T", "O"},
                                          7}};
  const std::vector<std::string> names = {"B-T", "I-T", "O"};
  const auto ex = encode_tagged(s, names, *tok, 0, "d.conll");
  ASSERT_EQ(ex.size(), 1u);
  std::vector<int32_t> want = {kIgnoreLabel};  // [CLS]
  std::vector<int32_t> ids = {*tok->token_to_id("[CLS]")}, piece;
  const int32_t labels[] = {0, 2, 0, 1, 2};
  for (size_t w = 0; w < s[0].words.size(); ++w) {
    tok->encode_ids(s[0].words[w], false, piece);
    ids.insert(ids.end(), piece.begin(), piece.end());
    want.push_back(labels[w]);
    want.insert(want.end(), piece.size() - 1, kIgnoreLabel);
  }
  ids.push_back(*tok->token_to_id("[SEP]"));
  want.push_back(kIgnoreLabel);
  EXPECT_GT(ids.size(), 8u);  // some words split into several pieces
  EXPECT_EQ(ex[0].ids, ids);
  EXPECT_EQ(ex[0].tags, want);
  EXPECT_EQ(ex[0].line, 7);
  EXPECT_EQ(labelled_tags(ex[0].tags, names),
            (std::vector<std::string>{"B-T", "O", "B-T", "I-T", "O"}));
  const auto cut = encode_tagged(s, names, *tok, 4, "d.conll");
  ASSERT_EQ(cut[0].ids.size(), 4u);
  EXPECT_EQ(cut[0].ids.back(), ids.back());
  EXPECT_EQ(cut[0].tags.back(), kIgnoreLabel);
  const std::string err = [&] {
    try {
      encode_tagged(s, {"O"}, *tok, 0, "d.conll");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }();
  EXPECT_NE(err.find("d.conll:7: tag \"B-T\""), std::string::npos) << err;
}

TEST(TokenClassifyData, BadLinesNameFileAndLine) {
  EXPECT_NE(error_of("a\tO\nb\n", false).find("d.conll:2: expected"), std::string::npos);
  EXPECT_NE(error_of("\n\n", false).find("d.conll:0: no sentences"), std::string::npos);
  EXPECT_NE(error_of("-DOCSTART- O\n", false).find("no sentences"), std::string::npos);
  EXPECT_NE(error_of("{\"tokens\": [\"a\"], \"tags\": []}\n", true).find("d.conll:1: expected"),
            std::string::npos);
  EXPECT_NE(error_of("x\n{\"tokens\": [\"a\"]}\n", true).find("d.conll:1: expected a JSON"),
            std::string::npos);
  EXPECT_NE(error_of("{\"tokens\": [\"\"], \"tags\": [\"O\"]}\n", true).find("empty word"),
            std::string::npos);
  EXPECT_NE(error_of("{\"tokens\": [1], \"tags\": [\"O\"]}\n", true).find("token 0"),
            std::string::npos);
}

}  // namespace
}  // namespace loom::train
