#include "text/sentencepiece_normalizer.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace loom::text {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

inline bool is_trail(uint8_t b) { return (b & 0xC0) == 0x80; }
inline bool valid_codepoint(uint32_t c) { return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF); }

// Darts-clone unit accessors.
inline bool unit_has_leaf(uint32_t u) { return ((u >> 8) & 1) == 1; }
inline uint32_t unit_value(uint32_t u) { return u & ((1U << 31) - 1); }
inline uint32_t unit_label(uint32_t u) { return u & ((1U << 31) | 0xFF); }
inline uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1U << 9)) >> 6); }

// The normalised bytes being written, each with the input offset it came from.
struct NormWriter {
  std::string* text;
  std::vector<uint32_t>* to_orig;
  bool escape;  // a space is written as U+2581

  // Appends the bytes of s, all from input offset `orig`.
  void append(std::string_view s, size_t orig) {
    for (char c : s) {
      if (escape && c == ' ') {
        text->append(kSpaceSymbol);
        to_orig->insert(to_orig->end(), kSpaceSymbol.size(), static_cast<uint32_t>(orig));
      } else {
        text->push_back(c);
        to_orig->push_back(static_cast<uint32_t>(orig));
      }
    }
  }

  // Drops the trailing spaces; returns the input offset of the first dropped, else `consumed`.
  size_t strip_trailing_spaces(size_t consumed) {
    const std::string_view space = escape ? kSpaceSymbol : std::string_view(" ");
    while (text->size() >= space.size() &&
           std::string_view(*text).substr(text->size() - space.size()) == space) {
      const size_t length = text->size() - space.size();
      consumed = (*to_orig)[length];
      text->resize(length);
      to_orig->resize(length);
    }
    return consumed;
  }
};

}  // namespace

size_t sp_utf8_char_len(std::string_view s, bool* valid) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  *valid = true;
  if (p[0] < 0x80) return 1;
  if (n >= 2 && (p[0] & 0xE0) == 0xC0) {
    uint32_t c = ((p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    if (is_trail(p[1]) && c >= 0x80 && valid_codepoint(c)) return 2;
  } else if (n >= 3 && (p[0] & 0xF0) == 0xE0) {
    uint32_t c = ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    if (is_trail(p[1]) && is_trail(p[2]) && c >= 0x800 && valid_codepoint(c)) return 3;
  } else if (n >= 4 && (p[0] & 0xF8) == 0xF0) {
    uint32_t c =
        ((p[0] & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    if (is_trail(p[1]) && is_trail(p[2]) && is_trail(p[3]) && c >= 0x10000 && valid_codepoint(c)) {
      return 4;
    }
  }
  *valid = false;
  return 1;
}

SpCharsMap::SpCharsMap(std::string blob, const std::string& name) {
  auto fail = [&](size_t at, const std::string& what) {
    throw Error(name + ": NormalizerSpec.precompiled_charsmap: at blob offset " +
                std::to_string(at) + ": " + what);
  };
  if (blob.size() < 4)
    fail(0, "expected a 4-byte trie size, blob has " + std::to_string(blob.size()) + " bytes");
  uint32_t trie_size;
  std::memcpy(&trie_size, blob.data(), 4);
  if (trie_size > blob.size() - 4 || trie_size % 4 != 0 || trie_size == 0) {
    fail(0, "trie size " + std::to_string(trie_size) +
                " must be a non-zero multiple of 4 and at most " + std::to_string(blob.size() - 4));
  }
  units_.resize(trie_size / 4);
  std::memcpy(units_.data(), blob.data() + 4, trie_size);
  strings_ = blob.substr(4 + trie_size);
}

size_t SpCharsMap::longest_match(std::string_view input, std::string_view* replacement) const {
  if (units_.empty()) return 0;
  constexpr size_t kMaxResults = 32;
  const size_t n_units = units_.size();
  size_t n_results = 0, best_len = 0;
  uint32_t best_value = 0;
  uint32_t id = unit_offset(units_[0]);
  for (size_t i = 0; i < input.size(); ++i) {
    const uint8_t c = static_cast<uint8_t>(input[i]);
    id ^= c;
    if (id >= n_units) break;
    const uint32_t unit = units_[id];
    if (unit_label(unit) != c) break;
    id ^= unit_offset(unit);
    if (id >= n_units) break;
    if (unit_has_leaf(unit)) {
      if (n_results < kMaxResults && (best_len == 0 || i + 1 > best_len)) {
        best_len = i + 1;
        best_value = unit_value(units_[id]);
      }
      ++n_results;
    }
  }
  if (best_len == 0) return 0;
  if (best_value >= strings_.size()) {
    *replacement = std::string_view();
  } else {
    const char* s = strings_.data() + best_value;
    const void* nul = std::memchr(s, 0, strings_.size() - best_value);
    size_t len = nul ? static_cast<const char*>(nul) - s : strings_.size() - best_value;
    *replacement = std::string_view(s, len);
  }
  return best_len;
}

size_t SpCharsMap::shortest_match(std::string_view input, std::string_view* replacement) const {
  if (units_.empty()) return 0;
  const size_t n_units = units_.size();
  uint32_t id = unit_offset(units_[0]);
  for (size_t i = 0; i < input.size(); ++i) {
    const uint8_t c = static_cast<uint8_t>(input[i]);
    if (c == 0) return 0;  // keys are NUL-terminated in the trie
    id ^= c;
    if (id >= n_units) return 0;
    const uint32_t unit = units_[id];
    if (unit_label(unit) != c) return 0;
    id ^= unit_offset(unit);
    if (id >= n_units) return 0;
    if (unit_has_leaf(unit)) {
      const uint32_t value = unit_value(units_[id]);
      if (value >= strings_.size()) {
        *replacement = std::string_view();
      } else {
        const char* s = strings_.data() + value;
        const void* nul = std::memchr(s, 0, strings_.size() - value);
        *replacement =
            std::string_view(s, nul ? static_cast<const char*>(nul) - s : strings_.size() - value);
      }
      return i + 1;
    }
  }
  return 0;
}

SpPrefixMatcher::SpPrefixMatcher(const std::vector<std::string>& symbols) {
  for (const auto& s : symbols) {
    if (s.empty()) continue;
    symbols_.push_back(s);
    first_byte_[static_cast<uint8_t>(s[0])] = 1;
    max_len_ = std::max(max_len_, s.size());
  }
  std::sort(symbols_.begin(), symbols_.end());
}

size_t SpPrefixMatcher::match(std::string_view s) const {
  if (symbols_.empty() || s.empty() || !first_byte_[static_cast<uint8_t>(s[0])]) return 0;
  for (size_t len = std::min(max_len_, s.size()); len > 0; --len) {
    if (std::binary_search(symbols_.begin(), symbols_.end(), s.substr(0, len),
                           [](std::string_view a, std::string_view b) { return a < b; })) {
      return len;
    }
  }
  return 0;
}

SpNormalizer::SpNormalizer(const SpNormalizerSpec& spec, bool treat_whitespace_as_suffix,
                           const std::vector<std::string>& user_defined_symbols,
                           const std::string& name)
    : spec_(spec),
      treat_whitespace_as_suffix_(treat_whitespace_as_suffix),
      user_defined_(user_defined_symbols) {
  if (!spec_.precompiled_charsmap.empty()) charsmap_ = SpCharsMap(spec_.precompiled_charsmap, name);
}

std::string_view SpNormalizer::normalize_prefix(std::string_view input, size_t* consumed) const {
  if (size_t m = user_defined_.match(input); m > 0) {
    *consumed = m;
    return input.substr(0, m);
  }
  std::string_view rep;
  if (size_t m = charsmap_.longest_match(input, &rep); m > 0) {
    *consumed = m;
    return rep;
  }
  bool valid;
  size_t len = sp_utf8_char_len(input, &valid);
  *consumed = len;
  return valid ? input.substr(0, len) : kReplacementChar;
}

void SpNormalizer::normalize(std::string_view input, std::string* normalized,
                             std::vector<uint32_t>* norm_to_orig) const {
  normalized->clear();
  norm_to_orig->clear();
  if (input.empty()) {
    norm_to_orig->push_back(0);
    return;
  }
  normalized->reserve(input.size() * 3 + 4);
  norm_to_orig->reserve(input.size() * 3 + 5);
  size_t consumed = 0;
  const bool remove_extra = spec_.remove_extra_whitespaces;

  if (remove_extra) {  // leading whitespace
    while (!input.empty()) {
      size_t n;
      std::string_view sp = normalize_prefix(input, &n);
      if (sp != " ") break;
      input.remove_prefix(n);
      consumed += n;
    }
  }
  if (input.empty()) {
    norm_to_orig->push_back(static_cast<uint32_t>(consumed));
    return;
  }
  NormWriter out{normalized, norm_to_orig, spec_.escape_whitespaces};
  if (!treat_whitespace_as_suffix_ && spec_.add_dummy_prefix) out.append(" ", consumed);

  bool is_prev_space = remove_extra;
  while (!input.empty()) {
    size_t n;
    std::string_view sp = normalize_prefix(input, &n);
    if (is_prev_space) {
      while (!sp.empty() && sp.front() == ' ') sp.remove_prefix(1);
    }
    if (!sp.empty()) {
      out.append(sp, consumed);
      is_prev_space = sp.back() == ' ';
    }
    consumed += n;
    input.remove_prefix(n);
    if (!remove_extra) is_prev_space = false;
  }

  if (remove_extra) consumed = out.strip_trailing_spaces(consumed);
  if (treat_whitespace_as_suffix_ && spec_.add_dummy_prefix) out.append(" ", consumed);
  norm_to_orig->push_back(static_cast<uint32_t>(consumed));
}

}  // namespace loom::text
