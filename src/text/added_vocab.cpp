#include "text/added_vocab.h"

#include "text/unicode.h"

namespace loom::text {

void AddedVocabulary::add(const AddedToken& token, const std::string& pattern,
                          bool match_normalized) {
  auto it = by_content_.find(token.content);
  if (it != by_content_.end()) {
    tokens_[it->second] = token;
    patterns_[it->second] = pattern;
    match_normalized_[it->second] = match_normalized;
  } else {
    by_content_.emplace(token.content, tokens_.size());
    tokens_.push_back(token);
    patterns_.push_back(pattern);
    match_normalized_.push_back(match_normalized);
  }
  rebuild();
}

const AddedToken* AddedVocabulary::find_content(std::string_view content) const {
  auto it = by_content_.find(content);
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::find_id(int32_t id) const {
  auto it = by_id_index_.find(id);
  return it == by_id_index_.end() ? nullptr : &tokens_[it->second];
}

void AddedVocabulary::rebuild() {
  by_id_index_.clear();
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].id >= 0) by_id_index_[tokens_[i].id] = i;
  }
  for (int s = 0; s < 2; ++s) sets_[s] = Trie();
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const std::string& p = patterns_[i];
    if (p.empty()) continue;
    Trie& t = sets_[match_normalized_[i] ? 1 : 0];
    if (t.nodes.empty()) t.nodes.emplace_back();
    int32_t node = 0;
    for (unsigned char c : p) {
      uint64_t key = (uint64_t(node) << 8) | c;
      const int32_t* child = t.edges.find(key);
      if (child == nullptr) {
        int32_t n = int32_t(t.nodes.size());
        t.nodes.emplace_back();
        t.edges.insert(key, n);
        node = n;
      } else {
        node = *child;
      }
    }
    if (t.nodes[node].token < 0) t.nodes[node].token = int32_t(i);
    t.first_byte[static_cast<unsigned char>(p[0])] = true;
  }
}

namespace {

bool is_word_char(char32_t c) { return c == '_' || is_alphanumeric(c); }

// Last char of s[0, end) / first char of s[begin, ...).
char32_t char_before(std::string_view s, size_t end) {
  size_t k = end - 1;
  while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80 && end - k < 4) --k;
  Utf8Char c = utf8_next(s, k);
  return k + c.len == end ? c.cp : 0xFFFD;
}

}  // namespace

void AddedVocabulary::find(std::string_view text, bool normalized, std::vector<Match>& out) const {
  const Trie& t = sets_[normalized ? 1 : 0];
  if (t.nodes.empty()) return;
  size_t consumed = 0;  // end of the last accepted match (after rstrip)
  size_t i = 0;
  while (i < text.size()) {
    if (!t.first_byte[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t k = i; k < text.size(); ++k) {
      const int32_t* child =
          t.edges.find((uint64_t(node) << 8) | static_cast<unsigned char>(text[k]));
      if (child == nullptr) break;
      node = *child;
      if (t.nodes[node].token >= 0) {
        best = t.nodes[node].token;
        best_end = k + 1;
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    size_t start = i, stop = best_end;
    i = best_end;  // matches never overlap
    if (start < consumed) continue;
    const AddedToken& tok = tokens_[best];
    if (tok.single_word) {
      bool start_ok = start == 0 || !is_word_char(char_before(text, start));
      bool stop_ok = stop == text.size() || !is_word_char(utf8_next(text, stop).cp);
      if (!start_ok || !stop_ok) continue;
    }
    if (tok.lstrip) {
      size_t s = start;
      while (s > consumed) {
        char32_t c = char_before(text, s);
        if (!is_whitespace(c)) break;
        std::string tmp;
        utf8_append(tmp, c);
        s -= tmp.size();
      }
      start = s;
    }
    if (tok.rstrip) {
      while (stop < text.size()) {
        Utf8Char c = utf8_next(text, stop);
        if (!c.valid || !is_whitespace(c.cp)) break;
        stop += c.len;
      }
      if (i < stop) i = stop;
    }
    out.push_back({{uint32_t(start), uint32_t(stop)}, tok.id});
    consumed = stop;
  }
}

}  // namespace loom::text
