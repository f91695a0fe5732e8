#include "adapt/mine_terms.h"

#include <algorithm>
#include <unordered_map>

namespace loom::adapt {

namespace {
bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_trim_punct(unsigned char c) {
  return c < 0x80 && !std::isalnum(c) && c != '+' && c != '#' && !is_space(c);
}
bool has_letter(std::string_view w) {
  for (unsigned char c : w)
    if (std::isalpha(c) || c >= 0x80) return true;
  return false;
}
}  // namespace

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(static_cast<unsigned char>(line[i]))) ++i;
    size_t b = i;
    while (i < line.size() && !is_space(static_cast<unsigned char>(line[i]))) ++i;
    size_t e = i;
    while (b < e && is_trim_punct(static_cast<unsigned char>(line[b]))) ++b;
    while (e > b && is_trim_punct(static_cast<unsigned char>(line[e - 1]))) --e;
    if (e > b) out.push_back(line.substr(b, e - b));
  }
  return out;
}

std::vector<Term> mine_terms(const std::vector<std::string>& lines,
                             const std::function<std::vector<std::string>(const std::string&)>& pieces_of,
                             const MineOptions& opts) {
  std::unordered_map<std::string, int64_t> counts;
  std::string phrase;
  for (const auto& line : lines) {
    auto words = split_words(line);
    for (size_t i = 0; i < words.size(); ++i) {
      phrase.clear();
      for (int n = 1; n <= opts.max_words && i + static_cast<size_t>(n) <= words.size(); ++n) {
        std::string_view w = words[i + static_cast<size_t>(n) - 1];
        // Phrases are built from real words: no numbers, and no short function words ("a",
        // "of") that would make "a bit" outrank "bit".
        if (n > 1 && (w.size() < opts.min_bytes || words[i].size() < opts.min_bytes)) break;
        if (!has_letter(w)) break;
        if (n > 1) phrase += ' ';
        phrase.append(w);
        if (phrase.size() > opts.max_bytes) break;
        ++counts[phrase];
      }
    }
  }
  std::vector<Term> cands;
  for (auto& [text, freq] : counts) {
    if (freq < opts.min_freq || text.size() < opts.min_bytes) continue;
    Term t;
    t.text = text;
    t.freq = freq;
    cands.push_back(std::move(t));
  }
  // Rank by an upper bound first so only promising candidates are tokenised: pieces <= bytes.
  std::sort(cands.begin(), cands.end(), [](const Term& a, const Term& b) {
    if (a.freq != b.freq) return a.freq > b.freq;
    return a.text < b.text;
  });
  std::vector<Term> scored;
  double kth_best = -1;  // the score of the top-th best so far
  std::vector<double> best;
  for (auto& t : cands) {
    double bound = static_cast<double>(t.freq) * static_cast<double>(t.text.size() - 1);
    if (static_cast<int>(best.size()) >= opts.top && bound < kth_best) continue;
    t.pieces = pieces_of(t.text);
    if (t.pieces.size() <= 1) continue;
    t.score = static_cast<double>(t.freq) * static_cast<double>(t.pieces.size() - 1);
    best.push_back(t.score);
    std::sort(best.begin(), best.end(), std::greater<>());
    if (static_cast<int>(best.size()) > opts.top) best.resize(static_cast<size_t>(opts.top));
    if (static_cast<int>(best.size()) >= opts.top) kth_best = best.back();
    scored.push_back(std::move(t));
  }
  std::sort(scored.begin(), scored.end(), [](const Term& a, const Term& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.freq != b.freq) return a.freq > b.freq;
    return a.text < b.text;
  });
  if (static_cast<int>(scored.size()) > opts.top) scored.resize(static_cast<size_t>(opts.top));
  return scored;
}

}  // namespace loom::adapt
