#include "text/unigram_trainer.h"

#include <unicode/uscript.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "core/threads.h"
#include "text/sentencepiece_normalizer.h"

namespace loom::text {
namespace {

constexpr std::string_view kWs = "\xE2\x96\x81";
constexpr float kUnkPenalty = 10.0f;
constexpr int kChunks = 16;  // fixed work split: results do not depend on the thread count

struct Word {
  std::string text;
  std::vector<uint32_t> offs;  // byte offset of each character, plus the end
  int64_t count = 0;
  size_t n_chars() const { return offs.size() - 1; }
  std::string_view sub(size_t s, size_t e) const {
    return std::string_view(text).substr(offs[s], offs[e] - offs[s]);
  }
};

// Sets w->offs from w->text at sentencepiece's character boundaries (an invalid byte is one).
void split_chars(Word* w) {
  w->offs.clear();
  for (size_t b = 0; b < w->text.size();) {
    w->offs.push_back(static_cast<uint32_t>(b));
    bool valid;
    b += sp_utf8_char_len(std::string_view(w->text).substr(b), &valid);
  }
  w->offs.push_back(static_cast<uint32_t>(w->text.size()));
}

Word make_word(std::string text, int64_t count = 0) {
  Word w;
  w.text = std::move(text);
  w.count = count;
  split_chars(&w);
  return w;
}

// Runs fn(c) for each chunk c of the fixed work split, over pool when there is one.
void run_chunks(ThreadPool* pool, const std::function<void(int64_t)>& fn) {
  if (pool)
    pool->run(kChunks, fn);
  else
    for (int c = 0; c < kChunks; ++c) fn(c);
}

// Items [begin, end) of chunk c when n items split into kChunks.
std::pair<size_t, size_t> chunk_range(size_t n, int64_t c) {
  const size_t per = (n + kChunks - 1) / kChunks;
  return {c * per, std::min(n, (c + 1) * per)};
}

uint32_t decode_cp(std::string_view s, size_t i, size_t n) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + i;
  if (n == 1) return p[0];
  if (n == 2) return ((p[0] & 0x1F) << 6) | (p[1] & 0x3F);
  if (n == 3) return ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
  return ((p[0] & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

// The Unicode script of c (ICU's Script property) grouped as sentencepiece's trainer groups
// scripts: Hiragana, Katakana and U+30FC count as Han, unassigned code points as Common, and
// Inherited (combining marks) is -1: the mark takes the previous character's script.
int script_of(uint32_t c) {
  UErrorCode err = U_ZERO_ERROR;
  const UScriptCode s = uscript_getScript(static_cast<UChar32>(c), &err);
  if (U_FAILURE(err) || s == USCRIPT_UNKNOWN) return USCRIPT_COMMON;
  if (s == USCRIPT_HIRAGANA || s == USCRIPT_KATAKANA || c == 0x30FC) return USCRIPT_HAN;
  if (s == USCRIPT_INHERITED) return -1;
  return s;
}

double digamma(double x) {
  double result = 0.0;
  for (; x < 7; ++x) result -= 1 / x;
  x -= 1.0 / 2.0;
  const double xx = 1.0 / x;
  const double xx2 = xx * xx;
  const double xx4 = xx2 * xx2;
  result += std::log(x) + (1.0 / 24.0) * xx2 - (7.0 / 960.0) * xx4 + (31.0 / 8064.0) * xx4 * xx2 -
            (127.0 / 30720.0) * xx4 * xx4;
  return result;
}

float log_sum_exp(float x, float y, bool init) {
  if (init) return y;
  const float vmin = std::min(x, y), vmax = std::max(x, y);
  if (vmax > vmin + 50.0f) return vmax;
  return static_cast<float>(vmax + std::log(std::exp(static_cast<double>(vmin - vmax)) + 1.0));
}

using Pieces = std::vector<std::pair<std::string, float>>;

// Counts -> log probabilities with sentencepiece's ToLogProb arithmetic: a float sum, its log
// rounded to float, each log taken in double.
void to_log_prob(std::vector<std::pair<std::string, float>>* v) {
  float sum = 0.0f;
  for (const auto& p : *v) sum += p.second;
  const auto logsum = static_cast<float>(std::log(static_cast<double>(sum)));
  for (auto& p : *v)
    p.second = static_cast<float>(std::log(static_cast<double>(p.second)) - logsum);
}

// Sorted as sentencepiece's Sorted(): score descending, then key ascending.
template <typename K>
void sort_desc(std::vector<std::pair<K, float>>* v) {
  std::sort(v->begin(), v->end(), [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  });
}

// Counts as (key, count), most frequent first (ties: key ascending).
std::vector<std::pair<std::string, float>> sorted_by_count(
    const std::unordered_map<std::string, int64_t>& counts) {
  std::vector<std::pair<std::string, float>> out;
  for (const auto& [key, n] : counts) out.emplace_back(key, static_cast<float>(n));
  sort_desc(&out);
  return out;
}

struct Node {
  int32_t start, end, id;
  float score;
};

// The current pieces with a lookup from string to index.
class Model {
 public:
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  Model(Model&&) = default;
  Model& operator=(Model&&) = default;
  Model(Pieces pieces, int max_len) : pieces_(std::move(pieces)), max_len_(max_len) {
    index_.reserve(pieces_.size() * 2);
    min_score_ = pieces_.empty() ? 0.0f : pieces_[0].second;
    for (size_t i = 0; i < pieces_.size(); ++i) {
      index_.emplace(std::string_view(pieces_[i].first), static_cast<int32_t>(i));
      min_score_ = std::min(min_score_, pieces_[i].second);
    }
  }
  const Pieces& pieces() const { return pieces_; }
  float min_score() const { return min_score_; }

  // Lattice nodes of `w`, ordered by start: every piece matching at each character, and an
  // unknown node (id -1) where no single-character piece exists.
  void nodes(const Word& w, std::vector<Node>* out) const {
    out->clear();
    const auto n = static_cast<int32_t>(w.n_chars());
    const float unk = min_score_ - kUnkPenalty;
    for (int32_t s = 0; s < n; ++s) {
      bool single = false;
      for (int32_t e = s + 1; e <= std::min(n, s + max_len_); ++e) {
        auto it = index_.find(w.sub(s, e));
        if (it == index_.end()) continue;
        out->push_back({s, e, it->second, pieces_[it->second].second});
        single |= e == s + 1;
      }
      // Id 0, not "none": sentencepiece's TrainerModel never sets its unknown id, which stays 0,
      // so an unknown character's uses count for piece 0 in the E step and in pruning.
      if (!single) out->push_back({s, s + 1, 0, unk});
    }
  }

 private:
  Pieces pieces_;
  // Keys view pieces_' strings; a vector move keeps its elements in place, so they stay valid.
  std::unordered_map<std::string_view, int32_t> index_;
  int max_len_;
  float min_score_ = 0.0f;
};

// Best path through nodes (ordered by start) over n characters, skipping node `skip`; returns
// the node indices of the path (empty if none).
std::vector<int32_t> viterbi(const std::vector<Node>& nodes, int32_t n, int32_t skip = -1) {
  std::vector<float> best(n + 1, 0.0f);
  std::vector<int32_t> back(n + 1, -1);
  std::vector<char> reached(n + 1, 0);
  reached[0] = 1;
  for (int32_t k = 0; k < static_cast<int32_t>(nodes.size()); ++k) {
    if (k == skip) continue;
    const Node& x = nodes[k];
    if (!reached[x.start]) continue;
    const float score = best[x.start] + x.score;
    if (!reached[x.end] || score > best[x.end]) {
      best[x.end] = score;
      back[x.end] = k;
      reached[x.end] = 1;
    }
  }
  std::vector<int32_t> path;
  if (!reached[n]) return path;
  for (int32_t pos = n; pos > 0; pos = nodes[back[pos]].start) path.push_back(back[pos]);
  std::reverse(path.begin(), path.end());
  return path;
}

bool valid_piece(const Word& w, size_t s, size_t e, const UnigramTrainerOptions& opt,
                 const std::unordered_map<std::string, int64_t>& required) {
  int prev = -100;
  for (size_t i = s; i < e; ++i) {
    std::string_view c = w.sub(i, i + 1);
    if (c == kWs) {
      if (i > s) return false;  // whitespace only as a prefix
      continue;
    }
    if (!required.count(std::string(c))) return false;
    const uint32_t cp = decode_cp(c, 0, c.size());
    if (opt.split_digits && cp >= '0' && cp <= '9' && e - s > 1) return false;
    int sc = script_of(cp);
    if (sc == -1) sc = prev;
    if (opt.split_by_unicode_script && prev != -100 && sc != prev) return false;
    prev = sc;
  }
  return true;
}

// Occurrences of a substring, and the most occurrences of any one-character extension of it.
struct SubstringStat {
  int64_t count = 0, max_child = 0;
};
using SubstringStats = std::unordered_map<std::string, SubstringStat>;

// Counts [s, e) for every start and every length 2..max_len+1 up to (and including) the first
// U+2581 after the start, or the end-of-sentence marker (a NUL). A fragment is a word plus the
// U+2581 that follows it, or a sentence's last word (followed by the end marker).
SubstringStats count_substrings(const std::vector<Word>& fragments, size_t max_len) {
  constexpr std::string_view kEnd("\0", 1);
  SubstringStats subs;
  for (const Word& w : fragments) {
    const size_t n = w.n_chars();
    for (size_t s = 0; s < n; ++s) {
      for (size_t e = s + 1; e <= n && e - s <= max_len + 1; ++e) {
        const bool last_is_ws = e - 1 > s && w.sub(e - 1, e) == kWs;
        if (e - s >= 2) subs[std::string(w.sub(s, e))].count += w.count;
        if (last_is_ws) break;
        if (e == n && e - s + 1 <= max_len + 1)
          subs[std::string(w.sub(s, e)) + std::string(kEnd)].count += w.count;
      }
    }
  }
  return subs;
}

// Each substring raises the max_child of the one a character (or the end marker) shorter.
void set_max_children(SubstringStats* subs) {
  for (auto& [key, st] : *subs) {
    size_t cut = key.size() - 1;
    while (cut > 0 && (static_cast<uint8_t>(key[cut]) & 0xC0) == 0x80) --cut;
    if (key.size() - cut == 1 && key[cut] == '\0') cut = key.size() - 1;
    auto it = subs->find(key.substr(0, cut));
    if (it != subs->end()) it->second.max_child = std::max(it->second.max_child, st.count);
  }
}

// The right-branching substrings seen at least twice that may be pieces, scored by frequency x
// length, best first.
std::vector<std::pair<std::string, float>> seed_candidates(
    const SubstringStats& subs, const UnigramTrainerOptions& opt,
    const std::unordered_map<std::string, int64_t>& required) {
  const size_t max_len = static_cast<size_t>(opt.max_piece_length);
  std::vector<std::pair<std::string, float>> cands;
  for (const auto& [key, st] : subs) {
    if (st.count < 2 || st.max_child >= st.count) continue;
    if (key.back() == '\0') continue;
    const Word w = make_word(key);
    const size_t n = w.n_chars();
    if (n < 2 || n > max_len || !valid_piece(w, 0, n, opt, required)) continue;
    cands.emplace_back(key, static_cast<float>(st.count * static_cast<int64_t>(n)));
  }
  sort_desc(&cands);
  return cands;
}

// Seeds: all characters plus the right-branching substrings seen at least twice (the internal
// nodes of the suffix tree sentencepiece's esaxx builds over the normalised sentences), scored
// by frequency x length. A substring's continuations include the U+2581 starting the next word
// and the end of the sentence, so "ing" that always ends a word is not right-branching.
Pieces make_seeds(const std::vector<Word>& fragments, const UnigramTrainerOptions& opt,
                  const std::unordered_map<std::string, int64_t>& required) {
  SubstringStats subs = count_substrings(fragments, static_cast<size_t>(opt.max_piece_length));
  set_max_children(&subs);
  std::vector<std::pair<std::string, float>> cands = seed_candidates(subs, opt, required);
  Pieces seeds = sorted_by_count(required);
  const size_t n_chars = seeds.size();
  for (auto& c : cands) {
    if (seeds.size() >= static_cast<size_t>(opt.seed_size) + n_chars) break;
    seeds.push_back(std::move(c));
  }
  to_log_prob(&seeds);
  return seeds;
}

// beta[s]: log-sum of the paths from character s to the end. Positions from the end; at each,
// the nodes starting there in lattice order (shortest first), as sentencepiece's lattice sums them.
void backward(const std::vector<Node>& nodes, int32_t n, std::vector<float>* beta,
              std::vector<char>* seen) {
  seen->assign(n + 1, 0);
  (*seen)[n] = 1;
  for (size_t hi = nodes.size(); hi > 0;) {
    size_t lo = hi;
    while (lo > 0 && nodes[lo - 1].start == nodes[hi - 1].start) --lo;
    for (size_t k = lo; k < hi; ++k) {
      const Node& x = nodes[k];
      (*beta)[x.start] = log_sum_exp((*beta)[x.start], x.score + (*beta)[x.end], !(*seen)[x.start]);
      (*seen)[x.start] = 1;
    }
    hi = lo;
  }
}

// Scratch of one word's forward-backward.
struct Lattice {
  std::vector<Node> nodes;
  std::vector<float> alpha, beta;
  std::vector<char> seen;
};

// Adds w.count x each piece's posterior number of uses in w to expected: forward-backward over
// w's lattice, float as sentencepiece's Lattice::PopulateMarginal, the exponent in double.
void add_marginals(const Model& model, const Word& w, Lattice* l, std::vector<float>* expected) {
  const auto n = static_cast<int32_t>(w.n_chars());
  model.nodes(w, &l->nodes);
  l->alpha.assign(n + 1, 0.0f);
  l->beta.assign(n + 1, 0.0f);
  l->seen.assign(n + 1, 0);
  l->seen[0] = 1;
  for (const Node& x : l->nodes) {
    l->alpha[x.end] = log_sum_exp(l->alpha[x.end], l->alpha[x.start] + x.score, !l->seen[x.end]);
    l->seen[x.end] = 1;
  }
  backward(l->nodes, n, &l->beta, &l->seen);
  const float z = l->alpha[n];
  const auto f = static_cast<float>(w.count);
  for (const Node& x : l->nodes) {
    const float e = l->alpha[x.start] + x.score + l->beta[x.end] - z;
    (*expected)[x.id] += f * std::exp(static_cast<double>(e));
  }
}

// E step: expected piece counts over every word. Split c of `splits` takes words c, c + splits,
// ... and the splits' sums are added in order: sentencepiece's E step with num_threads = splits,
// float for float, whatever the pool's size.
std::vector<float> e_step(const Model& model, const std::vector<Word>& words, int splits,
                          ThreadPool* pool) {
  std::vector<std::vector<float>> part(splits, std::vector<float>(model.pieces().size(), 0.0f));
  auto split = [&](int64_t c) {
    Lattice l;
    for (size_t i = static_cast<size_t>(c); i < words.size(); i += splits)
      add_marginals(model, words[i], &l, &part[c]);
  };
  if (pool)
    pool->run(splits, split);
  else
    for (int c = 0; c < splits; ++c) split(c);
  for (int c = 1; c < splits; ++c) {
    for (size_t i = 0; i < part[0].size(); ++i) part[0][i] += part[c][i];
  }
  return std::move(part[0]);
}

// M step: drop pieces expected fewer than 0.5 times; Bayesian (digamma) re-estimation.
Pieces m_step(const Model& model, const std::vector<float>& expected) {
  Pieces out;
  float sum = 0.0f;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] < 0.5f) continue;
    out.emplace_back(model.pieces()[i].first, expected[i]);
    sum += expected[i];
  }
  const auto logsum = static_cast<float>(digamma(sum));
  for (auto& p : out) p.second = static_cast<float>(digamma(p.second) - logsum);
  return out;
}

// Per piece: whether it must stay (its own Viterbi path is the piece itself), and the piece ids
// of its best segmentation without itself (empty: none, or a single character).
struct PieceAlternatives {
  std::vector<char> always_keep;
  std::vector<std::vector<int32_t>> ids;
};

PieceAlternatives piece_alternatives(const Model& model, ThreadPool* pool) {
  const Pieces& pieces = model.pieces();
  const size_t np = pieces.size();
  PieceAlternatives alt{std::vector<char>(np, 1), std::vector<std::vector<int32_t>>(np)};
  run_chunks(pool, [&](int64_t c) {
    std::vector<Node> nodes;
    const auto [begin, end] = chunk_range(np, c);
    for (size_t i = begin; i < end; ++i) {
      const Word w = make_word(pieces[i].first);
      const auto n = static_cast<int32_t>(w.n_chars());
      model.nodes(w, &nodes);
      auto best = viterbi(nodes, n);
      if (best.size() >= 2) {
        alt.always_keep[i] = 0;  // its own Viterbi path splits it: safe to remove
      } else if (best.size() == 1 && n >= 2) {
        for (int32_t k : viterbi(nodes, n, best[0])) alt.ids[i].push_back(nodes[k].id);
      }
    }
  });
  return alt;
}

// Viterbi frequencies over the corpus: freq[i] the word counts of the words using piece i (per
// use), summed in float per chunk as sentencepiece does; occ[i] the same in double.
struct ViterbiCounts {
  std::vector<float> freq;
  std::vector<double> occ;
};

ViterbiCounts viterbi_counts(const Model& model, const std::vector<Word>& words, ThreadPool* pool) {
  const size_t np = model.pieces().size();
  std::vector<std::vector<float>> freq_part(kChunks, std::vector<float>(np, 0.0f));
  std::vector<std::vector<double>> occ_part(kChunks, std::vector<double>(np, 0.0));
  run_chunks(pool, [&](int64_t c) {
    std::vector<Node> nodes;
    const auto [begin, end] = chunk_range(words.size(), c);
    for (size_t i = begin; i < end; ++i) {
      const Word& w = words[i];
      model.nodes(w, &nodes);
      for (int32_t k : viterbi(nodes, static_cast<int32_t>(w.n_chars()))) {
        const int32_t id = nodes[k].id;
        if (id < 0) continue;
        freq_part[c][id] += static_cast<float>(w.count);
        occ_part[c][id] += static_cast<double>(w.count);
      }
    }
  });
  ViterbiCounts vc{std::vector<float>(np, 0.0f), std::vector<double>(np, 0.0)};
  for (int c = 0; c < kChunks; ++c) {
    for (size_t i = 0; i < np; ++i) {
      vc.freq[i] += freq_part[c][i];
      vc.occ[i] += occ_part[c][i];
    }
  }
  return vc;
}

// Pruning: keeps the pieces without an alternative segmentation, then those whose removal (each
// use replaced by its alternative) loses the most likelihood, down to shrinking_factor of the
// pieces but not below `desired`.
Pieces prune(const Model& model, const std::vector<Word>& words, size_t desired,
             const UnigramTrainerOptions& opt, ThreadPool* pool) {
  const Pieces& pieces = model.pieces();
  const size_t np = pieces.size();
  const PieceAlternatives alt = piece_alternatives(model, pool);
  const ViterbiCounts vc = viterbi_counts(model, words, pool);
  const std::vector<float>& freq = vc.freq;
  double vsum = 0;
  for (const Word& w : words) vsum += static_cast<double>(w.count);
  const float sum = static_cast<float>(std::accumulate(freq.begin(), freq.end(), 0.0));
  const auto logsum = static_cast<float>(std::log(static_cast<double>(sum)));

  Pieces kept;
  std::vector<std::pair<int32_t, float>> candidates;
  for (size_t i = 0; i < np; ++i) {
    if (freq[i] == 0 || !alt.always_keep[i]) continue;
    const std::vector<int32_t>& alternatives = alt.ids[i];
    if (alternatives.empty()) {
      kept.push_back(pieces[i]);
      continue;
    }
    const float f = static_cast<float>(vc.occ[i] / vsum);
    const float logprob_sp = std::log(static_cast<double>(freq[i])) - logsum;
    // Removing piece i moves its freq[i] uses onto its alternatives: the total grows by
    // freq[i] * (alternatives - 1). sentencepiece <= 0.1.97 multiplied by the number of all pieces
    // instead (its issue #628), which opt.legacy_prune_total reproduces.
    const size_t n_alt = opt.legacy_prune_total ? np : alternatives.size();
    const float logsum_alt = std::log(static_cast<double>(sum + freq[i] * (n_alt - 1)));
    float logprob_alt = 0.0f;
    for (int32_t a : alternatives) {
      const float fa = a >= 0 ? freq[a] : 0.0f;
      logprob_alt += std::log(static_cast<double>(fa + freq[i])) - logsum_alt;
    }
    candidates.emplace_back(static_cast<int32_t>(i), f * (logprob_sp - logprob_alt));
  }
  const size_t pruned_size =
      std::max(desired, static_cast<size_t>(opt.shrinking_factor * static_cast<float>(np)));
  sort_desc(&candidates);
  for (const auto& [i, loss] : candidates) {
    if (kept.size() >= pruned_size) break;
    kept.push_back(pieces[i]);
  }
  return kept;
}

// As sentencepiece's trainer: the meta pieces' spellings in the text become one boundary
// character (later an unknown), so "<unk>" in PTB adds neither '<' nor "unk" to the vocabulary.
std::string replace_meta_pieces(const std::string& s) {
  static constexpr std::string_view kMeta[] = {"</s>", "<unk>", "<s>"};
  if (s.find('<') == std::string::npos) return s;
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t m = 0;
    for (std::string_view p : kMeta) {
      if (s.compare(i, p.size(), p) == 0) m = std::max(m, p.size());
    }
    if (m > 0) {
      out.push_back('\t');
      i += m;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

// Characters outside the required set (and the boundary tab) become U+2585, sentencepiece's
// trainer's unknown character, which no piece may hold.
void replace_rare_chars(Word* w, const std::unordered_map<std::string, int64_t>& required) {
  static constexpr std::string_view kUnkChar = "\xE2\x96\x85";
  std::string out;
  for (size_t i = 0; i < w->n_chars(); ++i) {
    std::string_view c = w->sub(i, i + 1);
    if (required.count(std::string(c)))
      out.append(c);
    else
      out.append(kUnkChar);
  }
  if (out == w->text) return;
  w->text = out;
  split_chars(w);
}

// Word and fragment counts of the normalised sentences. Seed statistics need each word with what
// follows it: the next word's U+2581, or the end of the sentence. Counting these fragments
// instead of whole sentences keeps memory proportional to the distinct words, and gives the same
// substring counts.
struct WordCounts {
  std::unordered_map<std::string, int64_t> words, fragments;
};

// Splits a normalised sentence seen c times into words at each U+2581, as sentencepiece's
// SplitIntoWords, and counts them.
void count_words_of(const std::string& norm, int64_t c, WordCounts* counts) {
  size_t start = 0;
  for (size_t i = 0; i <= norm.size();) {
    const bool end = i == norm.size();
    if (end || (i > start && std::string_view(norm).substr(i, kWs.size()) == kWs)) {
      if (i > start) {
        counts->words[norm.substr(start, i - start)] += c;
        counts->fragments[norm.substr(start, i - start) + (end ? "" : std::string(kWs))] += c;
      }
      start = i;
      if (end) break;
    }
    bool valid;
    i += sp_utf8_char_len(std::string_view(norm).substr(i), &valid);
  }
}

// Sentences spm_train leaves out: longer than max_sentence_length bytes (0: no limit), or holding
// its trainer's unknown character U+2585.
bool skipped_sentence(const std::string& s, const UnigramTrainerOptions& opt) {
  if (opt.max_sentence_length > 0 && s.size() > static_cast<size_t>(opt.max_sentence_length))
    return true;
  return s.find("\xE2\x96\x85") != std::string::npos;
}

WordCounts count_sentence_words(const std::vector<std::pair<std::string, int64_t>>& sentences,
                                const UnigramTrainerOptions& opt) {
  SpNormalizer normalizer(opt.normalizer, false, {}, "unigram trainer");
  WordCounts counts;
  std::string norm;
  std::vector<uint32_t> n2o;
  for (const auto& [s, c] : sentences) {
    if (c <= 0 || skipped_sentence(s, opt)) continue;
    normalizer.normalize(s, &norm, &n2o);
    norm = replace_meta_pieces(norm);
    if (norm.empty()) continue;
    count_words_of(norm, c, &counts);
  }
  return counts;
}

// Most frequent first, ties by text: sentencepiece's Sorted() order of its words, which fixes the
// order (and so the float rounding) of the E step's sums.
std::vector<Word> sorted_words(const std::unordered_map<std::string, int64_t>& counts) {
  std::vector<Word> out;
  out.reserve(counts.size());
  for (const auto& [text, c] : counts) out.push_back(make_word(text, c));
  std::sort(out.begin(), out.end(), [](const Word& a, const Word& b) {
    return a.count > b.count || (a.count == b.count && a.text < b.text);
  });
  return out;
}

// The words of `counts` (emptied) with rare characters replaced, the counts of words that became
// equal added up (sentencepiece replaces them before it splits and counts words), sorted.
std::vector<Word> with_rare_chars_replaced(
    std::unordered_map<std::string, int64_t>* counts,
    const std::unordered_map<std::string, int64_t>& required) {
  std::unordered_map<std::string, int64_t> merged;
  for (const auto& [text, c] : *counts) {
    Word w = make_word(text);
    replace_rare_chars(&w, required);
    merged[w.text] += c;
  }
  counts->clear();
  return sorted_words(merged);
}

// Required characters: the most frequent ones (ties by code point) until they cover
// character_coverage of all characters, as sentencepiece decides it: the boundary tab counts
// toward the coverage but is never required, and the coverage is compared in float.
std::unordered_map<std::string, int64_t> required_chars(const std::vector<Word>& words,
                                                        float character_coverage) {
  std::unordered_map<std::string, int64_t> char_counts;
  int64_t total = 0;
  for (const Word& w : words) {
    for (size_t i = 0; i < w.n_chars(); ++i) {
      char_counts[std::string(w.sub(i, i + 1))] += w.count;
      total += w.count;
    }
  }
  std::vector<std::pair<std::string, int64_t>> sorted(char_counts.begin(), char_counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  });
  std::unordered_map<std::string, int64_t> required;
  int64_t covered = 0;
  for (const auto& [ch, c] : sorted) {
    const auto coverage = static_cast<float>(1.0 * static_cast<double>(covered) / total);
    if (coverage >= character_coverage) break;
    covered += c;
    if (ch != "\t") required[ch] = c;
  }
  return required;
}

// EM sub-iterations, each round followed by pruning, until at most `desired` pieces remain.
Model run_em(Pieces seeds, const std::vector<Word>& words, size_t desired,
             const UnigramTrainerOptions& opt, ThreadPool* pool) {
  Model model(std::move(seeds), opt.max_piece_length);
  while (true) {
    for (int it = 0; it < opt.num_sub_iterations; ++it) {
      auto expected = e_step(model, words, opt.num_splits, pool);
      model = Model(m_step(model, expected), opt.max_piece_length);
      if (opt.on_iteration) opt.on_iteration(model.pieces().size());
    }
    if (model.pieces().size() <= desired) break;
    model = Model(prune(model, words, desired, opt, pool), opt.max_piece_length);
  }
  return model;
}

// Final pieces: every required character (missing ones just below the lowest score), then the
// best-scoring pieces up to n_normal; best first.
Pieces final_pieces(const Model& model, const std::unordered_map<std::string, int64_t>& required,
                    size_t n_normal) {
  std::map<std::string, float> current(model.pieces().begin(), model.pieces().end());
  std::map<std::string, float> chosen;
  float penalty = 0.0f;
  for (const auto& [ch, c] : sorted_by_count(required)) {
    auto it = current.find(ch);
    if (it != current.end()) {
      chosen[ch] = it->second;
    } else {
      chosen[ch] = model.min_score() + penalty;
      penalty += 0.0001f;
    }
  }
  Pieces sorted = model.pieces();
  sort_desc(&sorted);
  for (const auto& [p, s] : sorted) {
    if (chosen.size() >= n_normal) break;
    chosen.emplace(p, s);
  }
  Pieces out(chosen.begin(), chosen.end());
  sort_desc(&out);
  return out;
}

// The model file: <unk>, <s>, </s>, then the pieces; the trainer settings sentencepiece records.
SentencePieceModelProto unigram_proto(const Pieces& pieces, const UnigramTrainerOptions& opt) {
  SentencePieceModelProto proto;
  proto.pieces.push_back({"<unk>", 0.0f, SpPieceType::kUnknown});
  proto.pieces.push_back({"<s>", 0.0f, SpPieceType::kControl});
  proto.pieces.push_back({"</s>", 0.0f, SpPieceType::kControl});
  for (const auto& [p, s] : pieces) proto.pieces.push_back({p, s, SpPieceType::kNormal});
  SpTrainerSpec& ts = proto.trainer_spec;
  ts.model_type = SpModelType::kUnigram;
  ts.vocab_size = static_cast<int32_t>(proto.pieces.size());
  ts.character_coverage = opt.character_coverage;
  ts.max_sentencepiece_length = opt.max_piece_length;
  ts.split_by_unicode_script = opt.split_by_unicode_script;
  ts.split_digits = opt.split_digits;
  proto.normalizer_spec = opt.normalizer;
  return proto;
}

}  // namespace

SentencePieceModelProto train_unigram(
    const std::vector<std::pair<std::string, int64_t>>& sentence_counts,
    const UnigramTrainerOptions& opt, ThreadPool* pool) {
  if (opt.vocab_size <= 3)
    throw Error("unigram trainer: vocab_size must exceed 3 (the meta pieces)");
  if (opt.num_splits < 1) throw Error("unigram trainer: num_splits must be at least 1");
  WordCounts counts = count_sentence_words(sentence_counts, opt);
  const std::unordered_map<std::string, int64_t> required =
      required_chars(sorted_words(counts.words), opt.character_coverage);
  const std::vector<Word> sentences = with_rare_chars_replaced(&counts.fragments, required);
  const std::vector<Word> words = with_rare_chars_replaced(&counts.words, required);
  const size_t desired = static_cast<size_t>(opt.vocab_size * 1.1);
  const Model model = run_em(make_seeds(sentences, opt, required), words, desired, opt, pool);
  return unigram_proto(final_pieces(model, required, static_cast<size_t>(opt.vocab_size - 3)), opt);
}

}  // namespace loom::text
