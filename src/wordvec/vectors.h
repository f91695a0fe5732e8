// Word vectors: a table of (word, f32 row) and the word2vec text/binary and GloVe text formats.
//
// word2vec text:   "count dim\n", then per row "word v1 v2 ... vdim\n".
// word2vec binary: "count dim\n", then per row "word " + dim little-endian f32 [+ "\n"]. A "\n"
//                  before a word is skipped, so rows with and without the trailing newline (word2vec.c
//                  writes it, gensim does not) both load, as in gensim's load_word2vec_format.
// GloVe text:      the text rows without the header; dim comes from the first row.
// Readers check every count, length and value and throw loom::Error naming the file, the line or
// byte offset and what was expected.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace loom::wordvec {

class Vectors {
 public:
  Vectors() = default;
  explicit Vectors(int64_t dim) : dim_(dim) {}

  int64_t dim() const { return dim_; }
  int64_t size() const { return static_cast<int64_t>(words_.size()); }
  const std::string& word(int64_t i) const { return words_[static_cast<size_t>(i)]; }
  const std::vector<std::string>& words() const { return words_; }
  const float* row(int64_t i) const { return data_.data() + i * dim_; }
  float* row(int64_t i) { return data_.data() + i * dim_; }
  const std::vector<float>& data() const { return data_; }
  // Row of `word`, or -1.
  int64_t find(std::string_view word) const;

  // Appends a row (dim() floats). Returns false, adding nothing, when the word is already there.
  bool add(std::string word, const float* values);

 private:
  int64_t dim_ = 0;
  std::vector<std::string> words_;
  std::vector<float> data_;
  std::unordered_map<std::string, int64_t> index_;
};

enum class VectorFormat { kWord2VecText, kWord2VecBinary, kGloveText };

// "text", "binary", "glove" -> format; throws loom::Error on anything else.
VectorFormat parse_vector_format(const std::string& name);
// Binary when the file name ends in ".bin", GloVe when the first line has more than two fields,
// word2vec text otherwise.
VectorFormat guess_vector_format(const std::string& path, std::string_view bytes);

// Parses a whole file held in memory; `name` is used in error messages. Duplicate words keep the
// first row (as gensim does); duplicates() tells how many were dropped.
struct ParseResult {
  Vectors vectors;
  int64_t duplicates = 0;
};
ParseResult parse_vectors(std::string_view bytes, VectorFormat format, const std::string& name);
Vectors load_vectors(const std::string& path, VectorFormat format);
Vectors load_vectors(const std::string& path);  // format guessed

// Serialises; text values are the shortest decimal that reads back to the same f32.
std::string format_vectors(const Vectors& v, VectorFormat format, bool binary_newline = true);
// Atomic write (temporary name, fsync, rename).
void save_vectors(const std::string& path, const Vectors& v, VectorFormat format,
                  bool binary_newline = true);

}  // namespace loom::wordvec
