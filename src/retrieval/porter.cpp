#include "retrieval/porter.h"

#include <array>
#include <utility>

namespace loom::retrieval {

namespace {

// The paper's notation over w[0, len): consonants, the measure m of a stem, *v*, *d and *o.
struct Word {
  std::string w;

  bool cons(size_t i) const {
    switch (w[i]) {
      case 'a': case 'e': case 'i': case 'o': case 'u': return false;
      case 'y': return i == 0 || !cons(i - 1);
      default: return true;
    }
  }
  // m in [C](VC)^m[V] of w[0, n).
  int measure(size_t n) const {
    int m = 0;
    size_t i = 0;
    while (i < n && cons(i)) ++i;
    while (i < n) {
      while (i < n && !cons(i)) ++i;
      if (i == n) break;
      while (i < n && cons(i)) ++i;
      ++m;
    }
    return m;
  }
  bool has_vowel(size_t n) const {
    for (size_t i = 0; i < n; ++i)
      if (!cons(i)) return true;
    return false;
  }
  bool double_cons(size_t n) const { return n >= 2 && w[n - 1] == w[n - 2] && cons(n - 1); }
  // *o: the stem ends consonant-vowel-consonant, the last not w, x or y.
  bool cvc(size_t n) const {
    if (n < 3 || !cons(n - 1) || cons(n - 2) || !cons(n - 3)) return false;
    const char c = w[n - 1];
    return c != 'w' && c != 'x' && c != 'y';
  }
  bool ends(std::string_view s) const {
    return w.size() >= s.size() && std::string_view(w).substr(w.size() - s.size()) == s;
  }
  size_t stem_len(std::string_view suffix) const { return w.size() - suffix.size(); }
  void replace(std::string_view suffix, std::string_view by) {
    w.resize(stem_len(suffix));
    w += by;
  }
};

using Rule = std::pair<std::string_view, std::string_view>;

// Steps 2-4: the longest suffix in the list that ends the word decides; it is replaced when the
// stem's measure exceeds min_m (and, for ION, the stem ends in s or t), and nothing else is tried.
template <size_t N>
void apply_longest(Word& x, const std::array<Rule, N>& rules, int min_m) {
  const Rule* best = nullptr;
  for (const Rule& r : rules)
    if (x.ends(r.first) && (best == nullptr || r.first.size() > best->first.size())) best = &r;
  if (best == nullptr) return;
  const size_t n = x.stem_len(best->first);
  if (x.measure(n) <= min_m) return;
  if (best->first == "ion" && (n == 0 || (x.w[n - 1] != 's' && x.w[n - 1] != 't'))) return;
  x.replace(best->first, best->second);
}

void step1ab(Word& x) {
  if (x.ends("sses")) x.replace("sses", "ss");
  else if (x.ends("ies")) x.replace("ies", "i");
  else if (!x.ends("ss") && x.ends("s")) x.replace("s", "");
  if (x.ends("eed")) {
    if (x.measure(x.stem_len("eed")) > 0) x.replace("eed", "ee");
    return;
  }
  std::string_view suffix = x.ends("ed") ? "ed" : x.ends("ing") ? "ing" : "";
  if (suffix.empty() || !x.has_vowel(x.stem_len(suffix))) return;
  x.replace(suffix, "");
  const size_t n = x.w.size();
  if (x.ends("at") || x.ends("bl") || x.ends("iz")) {
    x.w += 'e';
  } else if (x.double_cons(n) && x.w[n - 1] != 'l' && x.w[n - 1] != 's' && x.w[n - 1] != 'z') {
    x.w.pop_back();
  } else if (x.measure(n) == 1 && x.cvc(n)) {
    x.w += 'e';
  }
}

constexpr std::array<Rule, 20> kStep2 = {{
    {"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"},   {"anci", "ance"},
    {"izer", "ize"},    {"abli", "able"},   {"alli", "al"},     {"entli", "ent"},
    {"eli", "e"},       {"ousli", "ous"},   {"ization", "ize"}, {"ation", "ate"},
    {"ator", "ate"},    {"alism", "al"},    {"iveness", "ive"}, {"fulness", "ful"},
    {"ousness", "ous"}, {"aliti", "al"},    {"iviti", "ive"},   {"biliti", "ble"},
}};
constexpr std::array<Rule, 7> kStep3 = {{
    {"icate", "ic"}, {"ative", ""}, {"alize", "al"}, {"iciti", "ic"},
    {"ical", "ic"},  {"ful", ""},   {"ness", ""},
}};
constexpr std::array<Rule, 19> kStep4 = {{
    {"al", ""},   {"ance", ""}, {"ence", ""}, {"er", ""},  {"ic", ""},  {"able", ""}, {"ible", ""},
    {"ant", ""},  {"ement", ""}, {"ment", ""}, {"ent", ""}, {"ion", ""}, {"ou", ""},  {"ism", ""},
    {"ate", ""},  {"iti", ""},  {"ous", ""},  {"ive", ""}, {"ize", ""},
}};

void step5(Word& x) {
  if (x.ends("e")) {
    const size_t n = x.stem_len("e");
    const int m = x.measure(n);
    if (m > 1 || (m == 1 && !x.cvc(n))) x.w.pop_back();
  }
  const size_t n = x.w.size();
  if (x.ends("ll") && x.measure(n) > 1) x.w.pop_back();
}

}  // namespace

std::string porter_stem(std::string_view word) {
  if (word.size() <= 2) return std::string(word);
  for (char c : word)
    if (c < 'a' || c > 'z') return std::string(word);
  Word x{std::string(word)};
  step1ab(x);
  if (x.ends("y") && x.has_vowel(x.stem_len("y"))) x.w.back() = 'i';  // step 1c
  apply_longest(x, kStep2, 0);
  apply_longest(x, kStep3, 0);
  apply_longest(x, kStep4, 1);
  step5(x);
  return std::move(x.w);
}

}  // namespace loom::retrieval
