#include "wordvec/vocab.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace loom::wordvec {

namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Calls word(token) for each token and end_sentence() at each line end and every
// kMaxSentenceWords tokens.
template <typename Word, typename End>
void for_each_token(std::string_view text, Word&& word, End&& end_sentence) {
  const char* p = text.data();
  const char* e = p + text.size();
  int64_t in_sentence = 0;
  while (p < e) {
    while (p < e && is_ascii_space(*p)) {
      if (*p == '\n' && in_sentence > 0) {
        end_sentence();
        in_sentence = 0;
      }
      ++p;
    }
    const char* b = p;
    while (p < e && !is_ascii_space(*p)) ++p;
    if (p == b) continue;
    word(std::string_view(b, static_cast<size_t>(p - b)));
    if (++in_sentence == kMaxSentenceWords) {
      end_sentence();
      in_sentence = 0;
    }
  }
  if (in_sentence > 0) end_sentence();
}

}  // namespace

Vocab build_vocab(std::string_view text, const VocabOptions& opt, const std::string& name) {
  struct Entry {
    int64_t count = 0, first = 0;
  };
  std::unordered_map<std::string_view, Entry> counts;
  Vocab v;
  for_each_token(
      text,
      [&](std::string_view w) {
        auto [it, fresh] = counts.try_emplace(w);
        if (fresh) it->second.first = v.corpus_words;
        ++it->second.count;
        ++v.corpus_words;
      },
      [] {});
  if (v.corpus_words == 0) throw Error(name + ": the corpus has no words");
  std::vector<std::pair<std::string_view, Entry>> kept;
  for (const auto& kv : counts)
    if (kv.second.count >= opt.min_count) kept.push_back(kv);
  if (kept.empty()) {
    throw Error(name + ": no word occurs min_count=" + std::to_string(opt.min_count) + " times (" +
                std::to_string(counts.size()) + " distinct words, " +
                std::to_string(v.corpus_words) + " tokens)");
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second.count != b.second.count ? a.second.count > b.second.count
                                            : a.second.first < b.second.first;
  });
  if (opt.max_vocab > 0 && static_cast<int64_t>(kept.size()) > opt.max_vocab) {
    kept.resize(static_cast<size_t>(opt.max_vocab));
  }
  for (const auto& [w, e] : kept) {
    v.index.emplace(std::string(w), static_cast<int32_t>(v.words.size()));
    v.words.emplace_back(w);
    v.counts.push_back(e.count);
    v.kept_words += e.count;
  }
  return v;
}

EncodedCorpus encode_corpus(std::string_view text, const Vocab& vocab) {
  // Lookups by string_view: a transparent copy of the index keyed on views into vocab.words.
  std::unordered_map<std::string_view, int32_t> index;
  index.reserve(vocab.words.size());
  for (size_t i = 0; i < vocab.words.size(); ++i) index.emplace(vocab.words[i], int32_t(i));
  EncodedCorpus c;
  c.ids.reserve(static_cast<size_t>(vocab.kept_words));
  c.starts.push_back(0);
  for_each_token(
      text,
      [&](std::string_view w) {
        ++c.raw_words;
        auto it = index.find(w);
        if (it != index.end()) c.ids.push_back(it->second);
      },
      [&] {
        if (static_cast<int64_t>(c.ids.size()) > c.starts.back()) {
          c.starts.push_back(static_cast<int64_t>(c.ids.size()));
        }
      });
  return c;
}

}  // namespace loom::wordvec
