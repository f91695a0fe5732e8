#include "text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"

namespace loom::text {

MatchScratch::MatchScratch()
    : md_(pcre2_match_data_create(1, nullptr)),
      ctx_(pcre2_match_context_create(nullptr)),
      stack_(pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, nullptr)) {
  if (md_ == nullptr || ctx_ == nullptr || stack_ == nullptr) {
    throw Error("PCRE2: out of memory for match data");
  }
  pcre2_jit_stack_assign(static_cast<pcre2_match_context*>(ctx_), nullptr,
                         static_cast<pcre2_jit_stack*>(stack_));
}
MatchScratch::~MatchScratch() {
  pcre2_match_data_free(static_cast<pcre2_match_data*>(md_));
  pcre2_match_context_free(static_cast<pcre2_match_context*>(ctx_));
  pcre2_jit_stack_free(static_cast<pcre2_jit_stack*>(stack_));
}

namespace {

// Oniguruma's \s (Ruby syntax, Unicode) is White_Space; PCRE2's UCP \s lacks U+0085 (NEL).
// \w in Oniguruma is Letter | Mark | Decimal_Number | Connector_Punctuation. These escapes are
// rewritten, inside a class and outside one (nullptr: kept as written).
struct EscapeTranslation {
  char escape;
  const char* in_class;
  const char* outside;
};
constexpr EscapeTranslation kEscapeTranslations[] = {
    {'s', "\\s\\x{85}", "[\\s\\x{85}]"},
    {'S', nullptr, "[^\\s\\x{85}]"},
    {'w', "\\p{L}\\p{M}\\p{Nd}\\p{Pc}", "[\\p{L}\\p{M}\\p{Nd}\\p{Pc}]"},
    {'W', nullptr, "[^\\p{L}\\p{M}\\p{Nd}\\p{Pc}]"},
};

// PCRE2's spelling of the escape \e, or nullptr when it means the same there.
const char* translate_escape(char e, bool in_class) {
  for (const EscapeTranslation& t : kEscapeTranslations) {
    if (t.escape == e) return in_class ? t.in_class : t.outside;
  }
  return nullptr;
}

// Copies the '[' at p[i] and what must go with it; returns the index of the last byte copied.
// At depth 0 it opens a class, taking a leading '^' and a literal ']' right after; inside a class
// it starts a POSIX class [:alpha:] (copied whole) or a nested class (Oniguruma set operations).
size_t copy_class_open(const std::string& p, size_t i, int* depth, std::string* out) {
  if (*depth == 0) {
    *depth = 1;
    *out += '[';
    if (i + 1 < p.size() && p[i + 1] == '^') *out += p[++i];
    if (i + 1 < p.size() && p[i + 1] == ']') *out += p[++i];
    return i;
  }
  if (i + 1 < p.size() && p[i + 1] == ':') {
    size_t close = p.find(":]", i + 2);
    if (close != std::string::npos) {
      out->append(p, i, close + 2 - i);
      return close + 1;
    }
  }
  ++*depth;
  *out += '[';
  return i;
}

// Rewrites an Oniguruma pattern (as tokenizer.json holds them) so PCRE2 matches the same text.
std::string translate_pattern(const std::string& p) {
  std::string out;
  out.reserve(p.size() + 16);
  int depth = 0;  // inside [...] when > 0
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      if (const char* t = translate_escape(p[i + 1], depth > 0)) {
        out += t;
      } else {
        out += c;
        out += p[i + 1];
      }
      ++i;
    } else if (c == '[') {
      i = copy_class_open(p, i, &depth, &out);
    } else {
      if (c == ']' && depth > 0) --depth;
      out += c;
    }
  }
  return out;
}

}  // namespace

Regex::Regex(std::string pattern, const std::string& where) : pattern_(std::move(pattern)) {
  std::string translated = translate_pattern(pattern_);
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    throw Error(where + ": cannot compile pattern " + pattern_ + " at offset " +
                std::to_string(err_off) + ": " + reinterpret_cast<char*>(msg));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if unavailable
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::find_all(std::string_view s, uint32_t begin, uint32_t end, MatchScratch& ms,
                     std::vector<Offset>& out) const {
  auto* code = static_cast<pcre2_code*>(code_);
  auto* md = static_cast<pcre2_match_data*>(ms.data());
  auto* ctx = static_cast<pcre2_match_context*>(ms.context());
  // Match on the sub-view so lookarounds never see outside the split.
  auto subject = reinterpret_cast<PCRE2_SPTR>(s.data() + begin);
  size_t len = end - begin;
  size_t pos = 0;
  while (pos <= len) {
    int rc = pcre2_match(code, subject, len, pos, 0, md, ctx);
    if (rc < 0) {
      if (rc == PCRE2_ERROR_NOMATCH) break;
      throw Error("PCRE2: matching " + pattern_ + " failed with code " + std::to_string(rc));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t ms_ = ov[0], me = ov[1];
    if (me > ms_) {
      out.push_back({uint32_t(begin + ms_), uint32_t(begin + me)});
      pos = me;
    } else {
      // Empty match: skip one char (Oniguruma's find_iter does the same).
      if (ms_ >= len) break;
      pos = ms_ + utf8_next(std::string_view(s.data() + begin, len), ms_).len;
    }
  }
}

std::string regex_escape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}-/#").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace loom::text
