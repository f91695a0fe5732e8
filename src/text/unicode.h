// UTF-8 stepping and the Unicode character classes the tokenizer stages need (ICU underneath).
// Invalid UTF-8 never throws: a byte that does not start a valid sequence is one U+FFFD "char"
// of length 1, so every input byte belongs to exactly one char.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loom::text {

struct Utf8Char {
  char32_t cp;   // U+FFFD for an invalid byte
  uint32_t len;  // 1..4 bytes
  bool valid;
};

inline Utf8Char utf8_next(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  size_t n = s.size() - i;
  unsigned c = p[0];
  if (c < 0x80) return {c, 1, true};
  auto cont = [&](size_t k) { return k < n && (p[k] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c < 0xE0) {
    if (cont(1)) return {char32_t(((c & 0x1F) << 6) | (p[1] & 0x3F)), 2, true};
  } else if (c >= 0xE0 && c < 0xF0) {
    if (cont(1) && cont(2)) {
      char32_t cp = ((c & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
      if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) return {cp, 3, true};
    }
  } else if (c >= 0xF0 && c < 0xF5) {
    if (cont(1) && cont(2) && cont(3)) {
      char32_t cp =
          ((c & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
      if (cp >= 0x10000 && cp <= 0x10FFFF) return {cp, 4, true};
    }
  }
  return {0xFFFD, 1, false};
}

void utf8_append(std::string& out, char32_t cp);
size_t utf8_char_count(std::string_view s);
// True when s is entirely valid UTF-8.
bool utf8_valid(std::string_view s);

// Character classes, matching the Rust char methods Hugging Face tokenizers uses.
bool is_whitespace(char32_t c);        // Unicode White_Space
bool is_alphanumeric(char32_t c);      // Alphabetic or N*
bool is_numeric(char32_t c);           // Nd, Nl, No
bool is_punctuation(char32_t c);       // P* (Pc Pd Ps Pe Pi Pf Po)
bool is_other(char32_t c);             // C* (Cc Cf Cn Co Cs) in the tables HF's BERT code uses
bool is_mark_nonspacing(char32_t c);   // Mn
bool is_cjk_ideograph(char32_t c);     // the CJK blocks of BERT's _is_chinese_char
bool is_bert_punctuation(char32_t c);  // ASCII punctuation or P*

// Full lowercase mapping of one char (Rust's char::to_lowercase, no context), appended as UTF-8.
void append_lowercase(std::string& out, char32_t c);
// Full uppercase mapping of a whole string without locale (Python's str.upper(): "straße" ->
// "STRASSE"); an invalid byte becomes U+FFFD.
std::string to_upper(std::string_view s);

enum class NormForm { kNFC, kNFD, kNFKC, kNFKD };
// Normalizes UTF-8 text; invalid bytes become U+FFFD first.
std::string unicode_normalize(std::string_view s, NormForm form);
// True when the text is already in the form (quick check), so no work is needed.
bool unicode_is_normalized(std::string_view s, NormForm form);
// True when a normalization segment may start before c (c has no interaction with what precedes).
bool unicode_boundary_before(char32_t c, NormForm form);

// Extended grapheme cluster boundaries of s (ICU's character break rules), as byte offsets
// 0 < b1 < ... < s.size() appended to out (0 itself is not). An invalid byte is its own cluster.
void grapheme_ends(std::string_view s, std::vector<uint32_t>& out);

// GPT-2's reversible byte <-> printable-char alphabet.
const std::array<char32_t, 256>& byte_to_unicode();
// -1 when c is not one of the 256 chars.
int unicode_to_byte(char32_t c);
// Maps every byte of s to its GPT-2 char, as UTF-8.
std::string bytes_to_unicode_string(std::string_view s);
// The inverse; false when a char is outside the alphabet (out then holds what was decoded).
bool unicode_string_to_bytes(std::string_view s, std::string& out);

}  // namespace loom::text
