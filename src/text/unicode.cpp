#include "text/unicode.h"

#include <unicode/brkiter.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>

#include <memory>

#include "core/error.h"

namespace loom::text {

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

size_t utf8_char_count(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += utf8_next(s, i).len) ++n;
  return n;
}

bool utf8_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    Utf8Char c = utf8_next(s, i);
    if (!c.valid) return false;
    i += c.len;
  }
  return true;
}

bool is_whitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 9 && c <= 13);
  return u_hasBinaryProperty(UChar32(c), UCHAR_WHITE_SPACE);
}

bool is_numeric(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  int t = u_charType(UChar32(c));
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

bool is_alphanumeric(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
  return u_hasBinaryProperty(UChar32(c), UCHAR_ALPHABETIC) || is_numeric(c);
}

bool is_punctuation(char32_t c) {
  int t = u_charType(UChar32(c));
  return t == U_CONNECTOR_PUNCTUATION || t == U_DASH_PUNCTUATION || t == U_START_PUNCTUATION ||
         t == U_END_PUNCTUATION || t == U_INITIAL_PUNCTUATION || t == U_FINAL_PUNCTUATION ||
         t == U_OTHER_PUNCTUATION;
}

bool is_other(char32_t c) {
  int t = u_charType(UChar32(c));
  return t == U_CONTROL_CHAR || t == U_FORMAT_CHAR || t == U_UNASSIGNED ||
         t == U_PRIVATE_USE_CHAR || t == U_SURROGATE;
}

bool is_mark_nonspacing(char32_t c) { return u_charType(UChar32(c)) == U_NON_SPACING_MARK; }

bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_bert_punctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
           (c >= 123 && c <= 126);
  }
  return is_punctuation(c);
}

void append_lowercase(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(char(c >= 'A' && c <= 'Z' ? c + 32 : c));
    return;
  }
  // Full mapping of a lone char: u_strToLower without context gives SpecialCasing's
  // unconditional mappings (U+0130 -> "i\u0307") like Rust's char::to_lowercase.
  UChar src[2];
  int32_t n = 0;
  U16_APPEND_UNSAFE(src, n, UChar32(c));
  UChar dst[8];
  UErrorCode err = U_ZERO_ERROR;
  int32_t m = u_strToLower(dst, 8, src, n, "", &err);
  if (U_FAILURE(err) || m > 8) {
    utf8_append(out, c);
    return;
  }
  for (int32_t i = 0; i < m;) {
    UChar32 cp;
    U16_NEXT(dst, i, m, cp);
    utf8_append(out, char32_t(cp));
  }
}

std::string to_upper(std::string_view s) {
  bool ascii = true;
  for (char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    std::string out(s);
    for (char& c : out)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return out;
  }
  icu::UnicodeString u;
  for (size_t i = 0; i < s.size();) {
    Utf8Char ch = utf8_next(s, i);
    u.append(UChar32(ch.cp));
    i += ch.len;
  }
  u.toUpper(icu::Locale::getRoot());
  std::string out;
  u.toUTF8String(out);
  return out;
}

namespace {

const icu::Normalizer2* normalizer_for(NormForm form) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (form) {
    case NormForm::kNFC:
      n = icu::Normalizer2::getNFCInstance(err);
      break;
    case NormForm::kNFD:
      n = icu::Normalizer2::getNFDInstance(err);
      break;
    case NormForm::kNFKC:
      n = icu::Normalizer2::getNFKCInstance(err);
      break;
    case NormForm::kNFKD:
      n = icu::Normalizer2::getNFKDInstance(err);
      break;
  }
  if (U_FAILURE(err) || n == nullptr) throw Error("ICU: cannot load the Unicode normalizer data");
  return n;
}

icu::UnicodeString to_icu(std::string_view s) {
  icu::UnicodeString u;
  for (size_t i = 0; i < s.size();) {
    Utf8Char c = utf8_next(s, i);
    u.append(UChar32(c.cp));
    i += c.len;
  }
  return u;
}

}  // namespace

std::string unicode_normalize(std::string_view s, NormForm form) {
  UErrorCode err = U_ZERO_ERROR;
  icu::UnicodeString out = normalizer_for(form)->normalize(to_icu(s), err);
  if (U_FAILURE(err)) throw Error("ICU: normalization failed");
  std::string r;
  out.toUTF8String(r);
  return r;
}

bool unicode_is_normalized(std::string_view s, NormForm form) {
  bool ascii = true;
  for (unsigned char c : s) ascii &= c < 0x80;
  if (ascii) return true;
  UErrorCode err = U_ZERO_ERROR;
  bool r = normalizer_for(form)->isNormalized(to_icu(s), err);
  return U_SUCCESS(err) && r;
}

bool unicode_boundary_before(char32_t c, NormForm form) {
  return normalizer_for(form)->hasBoundaryBefore(UChar32(c));
}

const std::array<char32_t, 256>& byte_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      t[b] = printable ? char32_t(b) : char32_t(256 + extra++);
    }
    return t;
  }();
  return table;
}

int unicode_to_byte(char32_t c) {
  static const std::array<int16_t, 324> inverse = [] {
    std::array<int16_t, 324> t;
    t.fill(-1);
    const auto& fwd = byte_to_unicode();
    for (int b = 0; b < 256; ++b) t[fwd[b]] = int16_t(b);
    return t;
  }();
  return c < inverse.size() ? inverse[c] : -1;
}

std::string bytes_to_unicode_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 2);
  const auto& t = byte_to_unicode();
  for (unsigned char b : s) utf8_append(out, t[b]);
  return out;
}

bool unicode_string_to_bytes(std::string_view s, std::string& out) {
  out.clear();
  bool ok = true;
  for (size_t i = 0; i < s.size();) {
    Utf8Char c = utf8_next(s, i);
    int b = c.valid ? unicode_to_byte(c.cp) : -1;
    if (b < 0) {
      ok = false;
      out.append(s.substr(i, c.len));
    } else {
      out.push_back(char(b));
    }
    i += c.len;
  }
  return ok;
}

void grapheme_ends(std::string_view s, std::vector<uint32_t>& out) {
  // ASCII: every byte is a cluster except CR LF.
  bool ascii = true;
  for (char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
      out.push_back(uint32_t(i + 1));
    }
    return;
  }
  // Valid runs go through ICU (UText over UTF-8 keeps byte indexes); invalid bytes stand alone.
  UErrorCode err = U_ZERO_ERROR;
  std::unique_ptr<icu::BreakIterator> it(
      icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), err));
  auto segment = [&](size_t b, size_t e) {
    if (b >= e) return;
    if (U_FAILURE(err) || !it) {  // no break data: one cluster per char
      for (size_t i = b; i < e;) {
        i += utf8_next(s, i).len;
        out.push_back(uint32_t(i));
      }
      return;
    }
    UErrorCode uerr = U_ZERO_ERROR;
    UText* ut = utext_openUTF8(nullptr, s.data() + b, int64_t(e - b), &uerr);
    it->setText(ut, uerr);
    for (int32_t p = it->next(); p != icu::BreakIterator::DONE; p = it->next())
      out.push_back(uint32_t(b + size_t(p)));
    utext_close(ut);
    if (out.empty() || out.back() != e) out.push_back(uint32_t(e));
  };
  size_t run = 0;
  for (size_t i = 0; i < s.size();) {
    Utf8Char c = utf8_next(s, i);
    if (!c.valid) {
      segment(run, i);
      out.push_back(uint32_t(i + 1));
      run = i + 1;
    }
    i += c.len;
  }
  segment(run, s.size());
}

}  // namespace loom::text
