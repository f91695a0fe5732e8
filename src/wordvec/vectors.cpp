#include "wordvec/vectors.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/mapped_file.h"
#include "text/unicode.h"

namespace loom::wordvec {

int64_t Vectors::find(std::string_view word) const {
  auto it = index_.find(std::string(word));
  return it == index_.end() ? -1 : it->second;
}

bool Vectors::add(std::string word, const float* values) {
  auto [it, inserted] = index_.emplace(word, size());
  if (!inserted) return false;
  words_.push_back(std::move(word));
  data_.insert(data_.end(), values, values + dim_);
  return true;
}

VectorFormat parse_vector_format(const std::string& name) {
  if (name == "text") return VectorFormat::kWord2VecText;
  if (name == "binary" || name == "bin") return VectorFormat::kWord2VecBinary;
  if (name == "glove") return VectorFormat::kGloveText;
  throw Error("vector format '" + name + "': expected text, binary or glove");
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (is_space(s.back()) || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// Splits on runs of spaces and tabs.
std::vector<std::string_view> split_fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !is_space(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Walks lines; line numbers are 1-based for messages.
class Lines {
 public:
  explicit Lines(std::string_view bytes) : bytes_(bytes) {}
  bool next(std::string_view& line) {
    if (pos_ >= bytes_.size()) return false;
    size_t end = bytes_.find('\n', pos_);
    if (end == std::string_view::npos) end = bytes_.size();
    line = bytes_.substr(pos_, end - pos_);
    start_ = pos_;
    pos_ = end + 1;
    ++line_no_;
    return true;
  }
  int64_t line_no() const { return line_no_; }
  size_t line_start() const { return start_; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0, start_ = 0;
  int64_t line_no_ = 0;
};

[[noreturn]] void fail_line(const std::string& name, int64_t line, const std::string& what) {
  throw Error(name + ": line " + std::to_string(line) + ": " + what);
}

[[noreturn]] void fail_byte(const std::string& name, size_t offset, const std::string& what) {
  throw Error(name + ": byte offset " + std::to_string(offset) + ": " + what);
}

std::string shown(std::string_view s) {
  std::string out(s.substr(0, 40));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return "'" + out + (s.size() > 40 ? "...'" : "'");
}

// Decimal -> double -> f32, as numpy's float32(str) does; false unless the whole token is a
// finite number that stays finite as f32.
bool parse_value(std::string_view tok, float& out) {
  double d = 0;
  const char* b = tok.data();
  if (!tok.empty() && tok[0] == '+') ++b;
  auto [p, ec] = std::from_chars(b, tok.data() + tok.size(), d);
  if (ec != std::errc() || p != tok.data() + tok.size()) return false;
  out = static_cast<float>(d);
  return std::isfinite(d) && std::isfinite(out);
}

bool parse_count(std::string_view tok, int64_t& out) {
  auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), out);
  return ec == std::errc() && p == tok.data() + tok.size() && out >= 0;
}

struct Header {
  int64_t count = 0, dim = 0;
  size_t body = 0;  // byte offset of the first row
};

Header parse_header(std::string_view bytes, const std::string& name) {
  size_t end = bytes.find('\n');
  if (end == std::string_view::npos) {
    fail_line(name, 1, "expected a header \"count dim\" ending in a newline");
  }
  auto fields = split_fields(bytes.substr(0, end));
  Header h;
  if (fields.size() != 2 || !parse_count(fields[0], h.count) || !parse_count(fields[1], h.dim)) {
    fail_line(name, 1, "expected a header \"count dim\" (two non-negative integers), got " +
                           shown(trim_right(bytes.substr(0, end))));
  }
  if (h.dim < 1 || h.dim > (1 << 20)) {
    fail_line(name, 1, "dim " + std::to_string(h.dim) + " out of range, expected 1..1048576");
  }
  h.body = end + 1;
  return h;
}

void check_word(std::string_view word, const std::string& name, size_t offset, int64_t line) {
  if (word.empty()) {
    if (line > 0) fail_line(name, line, "expected a word before the values");
    fail_byte(name, offset, "expected a word before ' '");
  }
  if (!text::utf8_valid(word)) {
    std::string msg = "word " + shown(word) + " is not valid UTF-8";
    if (line > 0) fail_line(name, line, msg);
    fail_byte(name, offset, msg);
  }
}

// One text row "word v1 ... vdim" into row_out; dim 0 means "take it from this row".
std::string_view parse_text_row(std::string_view line, int64_t line_no, const std::string& name,
                                int64_t& dim, std::vector<float>& row_out) {
  line = trim_right(line);
  size_t sp = line.find(' ');
  std::string_view word = line.substr(0, sp);
  check_word(word, name, 0, line_no);
  auto fields = sp == std::string_view::npos ? std::vector<std::string_view>{}
                                             : split_fields(line.substr(sp + 1));
  if (dim == 0) {
    if (fields.empty()) fail_line(name, line_no, "expected a word followed by its values");
    dim = static_cast<int64_t>(fields.size());
  }
  if (static_cast<int64_t>(fields.size()) != dim) {
    fail_line(name, line_no, "word " + shown(word) + ": expected " + std::to_string(dim) +
                                 " values, found " + std::to_string(fields.size()));
  }
  row_out.resize(static_cast<size_t>(dim));
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!parse_value(fields[i], row_out[i])) {
      fail_line(name, line_no, "value " + std::to_string(i + 1) + " of word " + shown(word) +
                                   ": expected a finite number, got " + shown(fields[i]));
    }
  }
  return word;
}

bool only_whitespace(std::string_view s) {
  for (char c : s)
    if (!is_space(c) && c != '\n') return false;
  return true;
}

ParseResult parse_text(std::string_view bytes, bool has_header, const std::string& name) {
  Header h;
  if (has_header) h = parse_header(bytes, name);
  // Each row needs at least "w" plus " v" per value and a newline.
  if (has_header && h.count > static_cast<int64_t>(bytes.size() - h.body) / (2 * h.dim + 2)) {
    fail_line(name, 1, "header count " + std::to_string(h.count) + " x dim " +
                           std::to_string(h.dim) + " cannot fit in the file's " +
                           std::to_string(bytes.size()) + " bytes");
  }
  Lines lines(bytes.substr(h.body));
  const int64_t line_base = has_header ? 1 : 0;
  ParseResult r;
  int64_t dim = h.dim, rows = 0;
  std::vector<float> row;
  std::string_view line;
  while ((!has_header || rows < h.count) && lines.next(line)) {
    const int64_t line_no = lines.line_no() + line_base;
    if (!has_header && only_whitespace(line)) continue;
    std::string_view word = parse_text_row(line, line_no, name, dim, row);
    if (r.vectors.dim() == 0) r.vectors = Vectors(dim);
    if (!r.vectors.add(std::string(word), row.data())) ++r.duplicates;
    ++rows;
  }
  if (has_header && rows < h.count) {
    fail_line(name, lines.line_no() + line_base + 1,
              "expected row " + std::to_string(rows + 1) + " of the header's " +
                  std::to_string(h.count) + ", found the end of the file");
  }
  while (lines.next(line)) {
    if (!only_whitespace(line)) {
      fail_line(name, lines.line_no() + line_base,
                "more rows than the header's count " + std::to_string(h.count));
    }
  }
  if (has_header && r.vectors.dim() == 0) r.vectors = Vectors(h.dim);
  if (!has_header && r.vectors.dim() == 0) fail_line(name, 1, "expected at least one row");
  return r;
}

ParseResult parse_binary(std::string_view bytes, const std::string& name) {
  Header h = parse_header(bytes, name);
  const size_t row_bytes = static_cast<size_t>(h.dim) * 4;
  if (h.count > static_cast<int64_t>((bytes.size() - h.body) / (row_bytes + 2))) {
    fail_line(name, 1, "header count " + std::to_string(h.count) + " x dim " +
                           std::to_string(h.dim) + " cannot fit in the file's " +
                           std::to_string(bytes.size()) + " bytes");
  }
  ParseResult r{Vectors(h.dim), 0};
  std::vector<float> row(static_cast<size_t>(h.dim));
  size_t pos = h.body;
  for (int64_t i = 0; i < h.count; ++i) {
    while (pos < bytes.size() && bytes[pos] == '\n') ++pos;
    size_t sp = bytes.find(' ', pos);
    if (sp == std::string_view::npos) {
      fail_byte(name, pos, "row " + std::to_string(i + 1) + " of " + std::to_string(h.count) +
                               ": expected a word ending in ' ', found the end of the file");
    }
    check_word(bytes.substr(pos, sp - pos), name, pos, 0);
    if (bytes.size() - (sp + 1) < row_bytes) {
      fail_byte(name, sp + 1, "row " + std::to_string(i + 1) + " (" +
                                  shown(bytes.substr(pos, sp - pos)) + ") is truncated: expected " +
                                  std::to_string(row_bytes) + " bytes of f32, " +
                                  std::to_string(bytes.size() - sp - 1) + " left");
    }
    std::memcpy(row.data(), bytes.data() + sp + 1, row_bytes);
    for (int64_t k = 0; k < h.dim; ++k) {
      if (!std::isfinite(row[static_cast<size_t>(k)])) {
        fail_byte(name, sp + 1 + static_cast<size_t>(k) * 4,
                  "value " + std::to_string(k + 1) + " of word " +
                      shown(bytes.substr(pos, sp - pos)) + ": expected a finite f32");
      }
    }
    if (!r.vectors.add(std::string(bytes.substr(pos, sp - pos)), row.data())) ++r.duplicates;
    pos = sp + 1 + row_bytes;
  }
  for (size_t k = pos; k < bytes.size(); ++k) {
    if (!is_space(bytes[k]) && bytes[k] != '\n') {
      fail_byte(name, k, "more rows than the header's count " + std::to_string(h.count));
    }
  }
  return r;
}

}  // namespace

VectorFormat guess_vector_format(const std::string& path, std::string_view bytes) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".bin") == 0) {
    return VectorFormat::kWord2VecBinary;
  }
  size_t end = bytes.find('\n');
  auto fields = split_fields(bytes.substr(0, end == std::string_view::npos ? bytes.size() : end));
  return fields.size() > 2 ? VectorFormat::kGloveText : VectorFormat::kWord2VecText;
}

ParseResult parse_vectors(std::string_view bytes, VectorFormat format, const std::string& name) {
  switch (format) {
    case VectorFormat::kWord2VecText: return parse_text(bytes, true, name);
    case VectorFormat::kGloveText: return parse_text(bytes, false, name);
    case VectorFormat::kWord2VecBinary: return parse_binary(bytes, name);
  }
  throw Error(name + ": unknown vector format");
}

Vectors load_vectors(const std::string& path, VectorFormat format) {
  auto file = MappedFile::open(path);
  return parse_vectors(file->view(), format, path).vectors;
}

Vectors load_vectors(const std::string& path) {
  auto file = MappedFile::open(path);
  return parse_vectors(file->view(), guess_vector_format(path, file->view()), path).vectors;
}

std::string format_vectors(const Vectors& v, VectorFormat format, bool binary_newline) {
  std::string out;
  if (format != VectorFormat::kGloveText) {
    out += std::to_string(v.size()) + " " + std::to_string(v.dim()) + "\n";
  }
  char buf[32];
  for (int64_t i = 0; i < v.size(); ++i) {
    const std::string& w = v.word(i);
    if (w.empty() || w.find_first_of(" \n") != std::string::npos) {
      throw Error("row " + std::to_string(i) + ": word " + shown(w) +
                  " cannot be written (empty, or holds a space or newline)");
    }
    out += w;
    out += ' ';
    if (format == VectorFormat::kWord2VecBinary) {
      out.append(reinterpret_cast<const char*>(v.row(i)), static_cast<size_t>(v.dim()) * 4);
      if (binary_newline) out += '\n';
      continue;
    }
    for (int64_t k = 0; k < v.dim(); ++k) {
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.row(i)[k]);
      if (k > 0) out += ' ';
      out.append(buf, p);
    }
    out += '\n';
  }
  return out;
}

void save_vectors(const std::string& path, const Vectors& v, VectorFormat format,
                  bool binary_newline) {
  write_file_atomic(path, format_vectors(v, format, binary_newline));
}

}  // namespace loom::wordvec
