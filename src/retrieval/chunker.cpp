#include "retrieval/chunker.h"

#include "core/error.h"

namespace loom::retrieval {

ChunkMode parse_chunk_mode(const std::string& name) {
  if (name == "none") return ChunkMode::kNone;
  if (name == "paragraph") return ChunkMode::kParagraph;
  if (name == "sentence") return ChunkMode::kSentence;
  if (name == "tokens") return ChunkMode::kTokens;
  throw Error("chunking '" + name + "': expected none, paragraph, sentence or tokens");
}

const char* chunk_mode_name(ChunkMode m) {
  switch (m) {
    case ChunkMode::kNone:
      return "none";
    case ChunkMode::kParagraph:
      return "paragraph";
    case ChunkMode::kSentence:
      return "sentence";
    case ChunkMode::kTokens:
      return "tokens";
  }
  return "?";
}

namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// [begin, end) trimmed of whitespace; appended when something is left.
void push_trimmed(std::string_view t, int64_t begin, int64_t end, std::vector<ChunkSpan>* out) {
  while (begin < end && space(t[begin])) ++begin;
  while (end > begin && space(t[end - 1])) --end;
  if (end > begin) out->push_back({begin, end});
}

// Splits at blank lines and, for sentences, after . ! ? followed by whitespace.
std::vector<ChunkSpan> split_units(std::string_view t, bool sentences) {
  std::vector<ChunkSpan> out;
  const int64_t n = static_cast<int64_t>(t.size());
  int64_t start = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool blank_line = t[i] == '\n' && i + 1 < n &&
                            t.find_first_not_of(" \t\r", i + 1) != std::string_view::npos &&
                            t[t.find_first_not_of(" \t\r", i + 1)] == '\n';
    const bool sentence_end =
        sentences && (t[i] == '.' || t[i] == '!' || t[i] == '?') && i + 1 < n && space(t[i + 1]);
    if (blank_line || sentence_end) {
      push_trimmed(t, start, i + 1, &out);
      start = i + 1;
    }
  }
  push_trimmed(t, start, n, &out);
  return out;
}

std::vector<ChunkSpan> words_of(std::string_view t) {
  std::vector<ChunkSpan> w;
  const int64_t n = static_cast<int64_t>(t.size());
  for (int64_t i = 0; i < n;) {
    while (i < n && space(t[i])) ++i;
    int64_t b = i;
    while (i < n && !space(t[i])) ++i;
    if (i > b) w.push_back({b, i});
  }
  return w;
}

// Windows of whole words, each at most max_tokens tokens (a single longer word stands alone).
std::vector<ChunkSpan> token_windows(std::string_view t, const ChunkOptions& o,
                                     const TokenCountFn& count) {
  const std::vector<ChunkSpan> w = words_of(t);
  const int64_t n = static_cast<int64_t>(w.size());
  auto tokens = [&](int64_t a, int64_t b) {  // tokens of words [a, b)
    return count(t.substr(w[a].begin, w[b - 1].end - w[a].begin));
  };
  std::vector<ChunkSpan> out;
  int64_t i = 0;
  while (i < n) {
    // Largest j in [i+1, n] with tokens(i, j) <= max_tokens (monotone in j): binary search.
    int64_t lo = i + 1, hi = n;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo + 1) / 2;
      if (tokens(i, mid) <= o.max_tokens)
        lo = mid;
      else
        hi = mid - 1;
    }
    const int64_t j = lo;
    out.push_back({w[i].begin, w[j - 1].end});
    if (j == n) break;
    // Smallest s in (i, j] whose tail [s, j) has at most `overlap` tokens: the next start.
    int64_t a = i + 1, b = j;
    while (a < b) {
      int64_t mid = a + (b - a) / 2;
      if (tokens(mid, j) <= o.overlap)
        b = mid;
      else
        a = mid + 1;
    }
    i = o.overlap > 0 ? a : j;
  }
  return out;
}

}  // namespace

std::vector<ChunkSpan> chunk_text(std::string_view text, const ChunkOptions& o,
                                  const TokenCountFn& count_tokens, const std::string& doc_id) {
  if (static_cast<int64_t>(text.size()) > o.max_bytes) {
    throw Error("document '" + doc_id + "': " + std::to_string(text.size()) +
                " bytes, more than the chunker's limit of " + std::to_string(o.max_bytes));
  }
  switch (o.mode) {
    case ChunkMode::kNone:  // a blank text has nothing to embed: no chunk
      if (text.find_first_not_of(" \t\n\r\f") == std::string_view::npos) return {};
      return {ChunkSpan{0, static_cast<int64_t>(text.size())}};
    case ChunkMode::kParagraph:
      return split_units(text, false);
    case ChunkMode::kSentence:
      return split_units(text, true);
    case ChunkMode::kTokens:
      if (o.max_tokens <= 0 || o.overlap < 0 || o.overlap >= o.max_tokens) {
        throw Error("chunking by tokens: need max_tokens > 0 and 0 <= overlap < max_tokens");
      }
      if (!count_tokens) throw Error("chunking by tokens needs the collection's tokenizer");
      return token_windows(text, o, count_tokens);
  }
  return {};
}

}  // namespace loom::retrieval
