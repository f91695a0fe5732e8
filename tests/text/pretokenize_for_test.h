// Test-only GPT-2 pre-tokenization with PCRE2 (the pipeline's pre-tokenizer lives elsewhere):
// split on special tokens, then the GPT-2 regex, as the bpe-train-reference README states.
#pragma once

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>
#include <string_view>
#include <vector>

namespace loom::test {

inline constexpr const char* kGpt2Pattern =
    R"('(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Appends the pre-tokens of `text` (no special tokens inside) to *out.
inline void gpt2_pretokenize(pcre2_code* re, std::string_view text, std::vector<std::string>* out) {
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(re, nullptr);
  size_t pos = 0;
  while (pos < text.size()) {
    // The subject is checked for valid UTF-8 once; rechecking it on every call is quadratic.
    int rc = pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos,
                         pos == 0 ? 0 : PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc < 0) break;
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    if (ov[1] == ov[0]) break;
    out->emplace_back(text.substr(ov[0], ov[1] - ov[0]));
    pos = ov[1];
  }
  pcre2_match_data_free(md);
}

// Splits on `special` first; the special token itself never becomes a pre-token.
inline std::vector<std::string> pretokenize_with_special(std::string_view text,
                                                         std::string_view special) {
  int err;
  PCRE2_SIZE err_off;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
  pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if unavailable
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t hit = special.empty() ? std::string_view::npos : text.find(special, pos);
    size_t end = hit == std::string_view::npos ? text.size() : hit;
    gpt2_pretokenize(re, text.substr(pos, end - pos), &out);
    if (hit == std::string_view::npos) break;
    pos = hit + special.size();
  }
  pcre2_code_free(re);
  return out;
}

}  // namespace loom::test
