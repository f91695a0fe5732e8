// Lexer of the chat-template Jinja subset, with the environment transformers uses:
// trim_blocks (the first newline after a block or comment tag is dropped), lstrip_blocks (spaces
// and tabs between a line start and a block or comment tag are dropped), keep_trailing_newline
// off, newlines normalised to "\n". "{%-"/"-%}" strip all whitespace on that side; "{%+" keeps it.
#include <cctype>
#include <cstring>
#include <string>

#include "core/error.h"
#include "text/chat_template_ast.h"

namespace loom::text::jinja {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
// strchr that does not match the terminator (a NUL byte in a template is just a character).
bool one_of(char c, const char* set) { return c != 0 && std::strchr(set, c) != nullptr; }

class Lexer {
 public:
  Lexer(std::string_view src, const std::string& name) : s_(src), name_(name) {}
  std::vector<Token> run();

 private:
  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw Error(name_ + ": offset " + std::to_string(at) + ": " + what);
  }
  void emit_text(size_t begin, size_t end, size_t open);
  size_t skip_after_tag(size_t p, char sign, bool trim) const;
  size_t lex_tag(size_t p, char kind);
  size_t lex_string(size_t p);
  size_t lex_token(size_t p);
  bool closes(size_t p, char kind, char* sign, size_t* after) const;

  std::string_view s_;
  const std::string& name_;
  std::vector<Token> out_;
};

// Template data [begin, end) before a tag opening at `open` ("{{", "{%", "{#").
void Lexer::emit_text(size_t begin, size_t end, size_t open) {
  std::string_view text = s_.substr(begin, end - begin);
  const char sign = open + 2 < s_.size() ? s_[open + 2] : 0;
  const char kind = open < s_.size() ? s_[open + 1] : 0;
  if (sign == '-') {
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  } else if (sign != '+' && (kind == '%' || kind == '#')) {
    // lstrip_blocks: only whitespace between the line start and the tag.
    const size_t nl = text.rfind('\n');
    const size_t line = nl == std::string_view::npos ? 0 : nl + 1;
    const bool line_start = nl != std::string_view::npos || begin == 0 || s_[begin - 1] == '\n';
    bool blank = line < text.size();
    for (size_t i = line; i < text.size(); ++i) blank = blank && is_space(text[i]);
    if (line_start && blank) text = text.substr(0, line);
  }
  if (!text.empty()) out_.push_back({Tok::Text, std::string(text), begin});
}

// After a tag: sign '-' strips all whitespace, '+' keeps it, none drops one newline (trim).
size_t Lexer::skip_after_tag(size_t p, char sign, bool trim) const {
  if (sign == '-') {
    while (p < s_.size() && is_space(s_[p])) ++p;
  } else if (trim && sign != '+' && p < s_.size() && s_[p] == '\n') {
    ++p;
  }
  return p;
}

// Whether a tag of `kind` ('{' or '%') closes at p ("}}"/"%}", or with a sign '-' or '+').
bool Lexer::closes(size_t p, char kind, char* sign, size_t* after) const {
  const char* close = kind == '{' ? "}}" : "%}";
  *sign = p < s_.size() && (s_[p] == '-' || (s_[p] == '+' && kind == '%')) ? s_[p] : 0;
  const size_t q = p + (*sign ? 1 : 0);
  if (s_.compare(q, 2, close) != 0) return false;
  *after = q + 2;
  return true;
}

size_t Lexer::lex_string(size_t p) {
  const char quote = s_[p];
  std::string v;
  size_t i = p + 1;
  for (; i < s_.size() && s_[i] != quote; ++i) {
    if (s_[i] != '\\') {
      v += s_[i];
      continue;
    }
    if (++i >= s_.size()) break;
    const char e = s_[i];
    if (e == 'n')
      v += '\n';
    else if (e == 't')
      v += '\t';
    else if (e == 'r')
      v += '\r';
    else if (e == '\\' || e == '\'' || e == '"')
      v += e;
    else if (e == '\n') {
    }  // a backslash-newline continues the literal
    else if (one_of(e, "xuUN01234567abfv"))
      fail(i - 1, std::string("string escape \\") + e + " is not supported");
    else
      v += std::string("\\") + e;  // Python keeps unknown escapes as written
  }
  if (i >= s_.size()) fail(p, "unterminated string literal");
  out_.push_back({Tok::String, std::move(v), p});
  return i + 1;
}

size_t Lexer::lex_token(size_t p) {
  const char c = s_[p];
  if (c == '\'' || c == '"') return lex_string(p);
  if (std::isdigit(static_cast<unsigned char>(c))) {
    size_t e = p;
    while (e < s_.size() && std::isdigit(static_cast<unsigned char>(s_[e]))) ++e;
    if (e < s_.size() && (s_[e] == '.' || s_[e] == 'e' || s_[e] == 'E' || s_[e] == '_') &&
        e + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[e + 1])))
      fail(p, "float or underscored number literal is not supported");
    if (e - p > 18) fail(p, "integer literal too long");
    out_.push_back({Tok::Int, std::string(s_.substr(p, e - p)), p});
    return e;
  }
  if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
    size_t e = p;
    while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) ++e;
    out_.push_back({Tok::Name, std::string(s_.substr(p, e - p)), p});
    return e;
  }
  for (const char* op : {"//", "**", "==", "!=", "<=", ">="}) {
    if (s_.compare(p, 2, op) == 0) {
      out_.push_back({Tok::Op, op, p});
      return p + 2;
    }
  }
  if (one_of(c, "+-*/%~<>=|.,:()[]{}")) {
    out_.push_back({Tok::Op, std::string(1, c), p});
    return p + 1;
  }
  fail(p, std::string("unexpected character '") + c + "' in a tag");
}

// The inside of a {{ }} (kind '{') or {% %} (kind '%') tag from p; returns the offset after it.
size_t Lexer::lex_tag(size_t p, char kind) {
  const size_t open = p - 2;
  out_.push_back({kind == '{' ? Tok::VarBegin : Tok::BlockBegin, "", open});
  if (p < s_.size() && (s_[p] == '-' || s_[p] == '+')) ++p;
  for (;;) {
    while (p < s_.size() && is_space(s_[p])) ++p;
    if (p >= s_.size()) fail(open, kind == '{' ? "unclosed {{ tag" : "unclosed {% tag");
    char sign = 0;
    size_t after = 0;
    if (closes(p, kind, &sign, &after)) {
      out_.push_back({kind == '{' ? Tok::VarEnd : Tok::BlockEnd, "", p});
      return skip_after_tag(after, sign, kind == '%');
    }
    p = lex_token(p);
  }
}

std::vector<Token> Lexer::run() {
  size_t pos = 0;
  while (pos < s_.size()) {
    size_t open = pos;
    while ((open = s_.find('{', open)) != std::string_view::npos && open + 1 < s_.size() &&
           !one_of(s_[open + 1], "{%#"))
      ++open;
    if (open == std::string_view::npos || open + 1 >= s_.size()) {
      emit_text(pos, s_.size(), s_.size());
      break;
    }
    emit_text(pos, open, open);
    const char kind = s_[open + 1];
    if (kind != '#') {
      pos = lex_tag(open + 2, kind);
      continue;
    }
    const size_t body = open + 2 + (open + 2 < s_.size() && one_of(s_[open + 2], "-+") ? 1 : 0);
    const size_t close = s_.find("#}", body);
    if (close == std::string_view::npos) fail(open, "unclosed {# comment");
    const char sign = close > body && one_of(s_[close - 1], "-+") ? s_[close - 1] : 0;
    pos = skip_after_tag(close + 2, sign, true);
  }
  out_.push_back({Tok::End, "", s_.size()});
  return std::move(out_);
}

}  // namespace

std::vector<Token> lex(std::string_view source, const std::string& name) {
  return Lexer(source, name).run();
}

}  // namespace loom::text::jinja
