// word2vec text/binary and GloVe text: round trips, the exact bytes other tools write, and one
// clear loom::Error for each kind of bad input.
#include "wordvec/vectors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.h"

namespace loom::wordvec {
namespace {

std::string f32_bytes(std::initializer_list<float> v) {
  std::string s;
  for (float x : v) s.append(reinterpret_cast<const char*>(&x), 4);
  return s;
}

Vectors sample() {
  Vectors v(3);
  const float a[3] = {0.1f, -2.5f, 1e-7f}, b[3] = {3.4028235e38f, -0.0f, 123456.789f};
  const float c[3] = {1.0f / 3.0f, 2.0f / 3.0f, -7.0f};
  v.add("the", a);
  v.add("naïve", b);
  v.add("Zürich", c);
  return v;
}

void expect_same(const Vectors& a, const Vectors& b) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.dim(), b.dim());
  for (int64_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a.word(i), b.word(i));
    EXPECT_EQ(std::memcmp(a.row(i), b.row(i), static_cast<size_t>(a.dim()) * 4), 0) << a.word(i);
  }
}

std::string error_of(const std::string& bytes, VectorFormat f) {
  try {
    parse_vectors(bytes, f, "v.txt");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Vectors, RoundTripsEveryFormatBitExact) {
  Vectors v = sample();
  for (auto f : {VectorFormat::kWord2VecText, VectorFormat::kWord2VecBinary,
                 VectorFormat::kGloveText}) {
    for (bool nl : {true, false}) {
      auto r = parse_vectors(format_vectors(v, f, nl), f, "x");
      expect_same(v, r.vectors);
      EXPECT_EQ(r.duplicates, 0);
    }
  }
}

TEST(Vectors, BinaryLayoutIsWord2VecC) {
  Vectors v(2);
  const float a[2] = {1.0f, -2.0f};
  v.add("ab", a);
  EXPECT_EQ(format_vectors(v, VectorFormat::kWord2VecBinary, true),
            "1 2\nab " + f32_bytes({1.0f, -2.0f}) + "\n");
  EXPECT_EQ(format_vectors(v, VectorFormat::kWord2VecBinary, false),
            "1 2\nab " + f32_bytes({1.0f, -2.0f}));
  EXPECT_EQ(format_vectors(v, VectorFormat::kWord2VecText), "1 2\nab 1 -2\n");
  EXPECT_EQ(format_vectors(v, VectorFormat::kGloveText), "ab 1 -2\n");
}

TEST(Vectors, ReadsWord2VecCTextWithTrailingSpaceAndCrLf) {
  // word2vec.c writes "%lf " per value; files from Windows end lines in CRLF.
  auto r = parse_vectors("2 2\r\nking 0.500000 -1.250000 \r\nqueen 2 3e-1\r\n",
                         VectorFormat::kWord2VecText, "w.txt");
  ASSERT_EQ(r.vectors.size(), 2);
  EXPECT_EQ(r.vectors.word(1), "queen");
  EXPECT_EQ(r.vectors.row(0)[1], -1.25f);
  EXPECT_EQ(r.vectors.row(1)[1], 0.3f);
  EXPECT_EQ(r.vectors.find("king"), 0);
  EXPECT_EQ(r.vectors.find("prince"), -1);
}

TEST(Vectors, DecimalsRoundThroughDoubleLikeNumpy) {
  // 1.00000005960464477539 is halfway between two f32; read as double first, it rounds to even.
  auto r = parse_vectors("1 1\nw 1.000000059604644775390625000001\n",
                         VectorFormat::kWord2VecText, "x");
  EXPECT_EQ(r.vectors.row(0)[0], static_cast<float>(1.000000059604644775390625000001));
}

TEST(Vectors, DuplicateWordsKeepTheFirstRowLikeGensim) {
  auto r = parse_vectors("3 1\na 1\nb 2\na 3\n", VectorFormat::kWord2VecText, "x");
  EXPECT_EQ(r.vectors.size(), 2);
  EXPECT_EQ(r.duplicates, 1);
  EXPECT_EQ(r.vectors.row(0)[0], 1.0f);
}

TEST(Vectors, BinaryRowsWithAndWithoutNewlinesMix) {
  std::string b = "3 1\na " + f32_bytes({1}) + "\nb " + f32_bytes({2}) + "c " + f32_bytes({3});
  auto r = parse_vectors(b, VectorFormat::kWord2VecBinary, "x");
  ASSERT_EQ(r.vectors.size(), 3);
  EXPECT_EQ(r.vectors.word(2), "c");
  EXPECT_EQ(r.vectors.row(2)[0], 3.0f);
}

TEST(Vectors, BadHeaderNamesLineOne) {
  EXPECT_NE(error_of("2\na 1\n", VectorFormat::kWord2VecText).find("v.txt: line 1: expected a header"),
            std::string::npos);
  EXPECT_NE(error_of("x 2\n", VectorFormat::kWord2VecText).find("line 1"), std::string::npos);
  EXPECT_NE(error_of("1 0\n", VectorFormat::kWord2VecText).find("dim 0 out of range"),
            std::string::npos);
  EXPECT_NE(error_of("9999 3\na 1 2 3\n", VectorFormat::kWord2VecText).find("cannot fit"),
            std::string::npos);
}

TEST(Vectors, WrongCountsAreCaught) {
  EXPECT_EQ(error_of("3 1\na 1.5\nb 2.5\n", VectorFormat::kWord2VecText),
            "v.txt: line 4: expected row 3 of the header's 3, found the end of the file");
  EXPECT_EQ(error_of("1 1\na 1\nb 2\n", VectorFormat::kWord2VecText),
            "v.txt: line 3: more rows than the header's count 1");
  EXPECT_EQ(error_of("1 2\na 1 2 3\n", VectorFormat::kWord2VecText),
            "v.txt: line 2: word 'a': expected 2 values, found 3");
  EXPECT_EQ(error_of("1 2 \n" + std::string("a ") + f32_bytes({1, 2}) + "b " + f32_bytes({1, 2}),
                     VectorFormat::kWord2VecBinary)
                .substr(0, 25),
            "v.txt: byte offset 15: mo");
}

TEST(Vectors, TruncatedBinaryRowNamesTheOffset) {
  std::string b = "2 2\nab " + f32_bytes({1, 2}) + "\ncd " + f32_bytes({3, 4});
  std::string cut = b.substr(0, b.size() - 3);
  EXPECT_EQ(error_of(cut, VectorFormat::kWord2VecBinary),
            "v.txt: byte offset 19: row 2 ('cd') is truncated: expected 8 bytes of f32, 5 left");
  EXPECT_NE(error_of("1 2\nabcdefghijkl", VectorFormat::kWord2VecBinary)
                .find("expected a word ending in ' '"),
            std::string::npos);
}

TEST(Vectors, NonUtf8WordsAreRejected) {
  EXPECT_EQ(error_of("1 1\nab\xff 1\n", VectorFormat::kWord2VecText),
            "v.txt: line 2: word 'ab?' is not valid UTF-8");
  std::string b = "1 1\nx\xc3 " + f32_bytes({1});
  EXPECT_EQ(error_of(b, VectorFormat::kWord2VecBinary),
            "v.txt: byte offset 4: word 'x?' is not valid UTF-8");
}

TEST(Vectors, NonFiniteValuesAreRejected) {
  EXPECT_EQ(error_of("1 2\nw 1 nan\n", VectorFormat::kWord2VecText),
            "v.txt: line 2: value 2 of word 'w': expected a finite number, got 'nan'");
  EXPECT_NE(error_of("1 1\nw 1e39\n", VectorFormat::kWord2VecText).find("finite"),
            std::string::npos);
  EXPECT_NE(error_of("1 1\nw 1x\n", VectorFormat::kWord2VecText).find("got '1x'"),
            std::string::npos);
  std::string b = "1 2\nw " + f32_bytes({1, std::numeric_limits<float>::infinity()});
  EXPECT_EQ(error_of(b, VectorFormat::kWord2VecBinary),
            "v.txt: byte offset 10: value 2 of word 'w': expected a finite f32");
}

TEST(Vectors, GloveTakesDimFromTheFirstRow) {
  auto r = parse_vectors("a 1 2 3\n\nb 4 5 6\n", VectorFormat::kGloveText, "g.txt");
  EXPECT_EQ(r.vectors.dim(), 3);
  EXPECT_EQ(r.vectors.size(), 2);
  EXPECT_EQ(error_of("a 1 2 3\nb 4 5\n", VectorFormat::kGloveText),
            "v.txt: line 2: word 'b': expected 3 values, found 2");
  EXPECT_NE(error_of("", VectorFormat::kGloveText).find("expected at least one row"),
            std::string::npos);
}

TEST(Vectors, GuessesTheFormat) {
  EXPECT_EQ(guess_vector_format("m.bin", "2 3\n"), VectorFormat::kWord2VecBinary);
  EXPECT_EQ(guess_vector_format("m.txt", "2 3\na 1 2 3\n"), VectorFormat::kWord2VecText);
  EXPECT_EQ(guess_vector_format("g.txt", "a 1 2 3\n"), VectorFormat::kGloveText);
  EXPECT_THROW(parse_vector_format("fasttext"), Error);
}

TEST(Vectors, WriterRefusesWordsTheFormatCannotHold) {
  Vectors v(1);
  const float x = 1;
  v.add("two words", &x);
  EXPECT_THROW(format_vectors(v, VectorFormat::kWord2VecText), Error);
}

}  // namespace
}  // namespace loom::wordvec
