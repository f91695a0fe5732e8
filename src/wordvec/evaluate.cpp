#include "wordvec/evaluate.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/threads.h"
#include "text/unicode.h"
#include "wordvec/similar.h"

namespace loom::wordvec {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// word -> row over the first `limit` rows; upper-cased keys keep the earliest row.
std::unordered_map<std::string, int64_t> ok_vocab(const Vectors& v, int64_t limit, bool upper) {
  std::unordered_map<std::string, int64_t> m;
  for (int64_t i = 0; i < limit; ++i) m.emplace(upper ? text::to_upper(v.word(i)) : v.word(i), i);
  return m;
}

// Python's str.split() (no argument): runs of whitespace, none at either end.
std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
                                c == '\f' || c == '\x1c' || c == '\x1d' || c == '\x1e' ||
                                c == '\x1f'; };
  while (i < s.size()) {
    while (i < s.size() && ws(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !ws(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(pos, end - pos + (end < text.size() ? 1 : 0)));
    pos = end + 1;
  }
  return out;
}

std::string_view strip(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

// Python's text-mode lines: "\r\n", "\r" and "\n" all end a line and read as "\n".
std::vector<std::string> universal_lines(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out.push_back(cur + "\n");
      cur.clear();
    } else {
      cur += text[i];
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

struct Question {
  size_t section;
  int64_t a, b, c;
  std::string upper[4];  // a b c expected, as compared
};

}  // namespace

double AnalogySection::accuracy() const {
  return correct + incorrect == 0 ? kNaN : double(correct) / double(correct + incorrect);
}

namespace {

// Reads sections and questions into r; returns the in-vocabulary questions.
std::vector<Question> parse_questions(std::string_view text, const std::string& name,
                                      const std::unordered_map<std::string, int64_t>& vocab,
                                      const EvalOptions& opt, AnalogyResult& r) {
  std::vector<Question> qs;
  auto lines = lines_of(text);
  for (size_t ln = 0; ln < lines.size(); ++ln) {
    std::string_view line = lines[ln];
    if (line.substr(0, 2) == ": ") {
      std::string_view rest = line.substr(2);
      while (!rest.empty() && (rest.front() == ':' || rest.front() == ' ')) rest.remove_prefix(1);
      r.sections.push_back({std::string(strip(rest)), 0, 0});
      continue;
    }
    if (r.sections.empty()) {
      throw Error(name + ": line " + std::to_string(ln + 1) +
                  ": expected a section header \": name\" before the first question");
    }
    auto f = split_ws(line);
    if (f.size() != 4) continue;
    ++r.questions;
    Question q;
    q.section = r.sections.size() - 1;
    int64_t rows[4];
    bool oov = false;
    for (int k = 0; k < 4; ++k) {
      q.upper[k] = opt.case_insensitive ? text::to_upper(f[k]) : std::string(f[k]);
      auto it = vocab.find(q.upper[k]);
      oov = oov || it == vocab.end();
      rows[k] = oov ? -1 : it->second;
    }
    if (oov) {
      ++r.oov;
      if (opt.dummy4unknown) ++r.sections.back().incorrect;
      continue;
    }
    q.a = rows[0], q.b = rows[1], q.c = rows[2];
    qs.push_back(std::move(q));
  }
  return qs;
}

}  // namespace

AnalogyResult evaluate_word_analogies(const Vectors& v, std::string_view text,
                                      const std::string& name, const EvalOptions& opt,
                                      ThreadPool& pool) {
  NeighbourSearch search(v, opt.restrict_vocab);
  AnalogyResult r;
  const std::vector<Question> qs =
      parse_questions(text, name, ok_vocab(v, search.limit(), opt.case_insensitive), opt, r);
  const int64_t d = v.dim();
  std::vector<float> queries(qs.size() * static_cast<size_t>(d));
  std::vector<std::vector<int64_t>> exclude(qs.size());
  for (size_t i = 0; i < qs.size(); ++i) {
    auto q = search.query({{qs[i].b, 1.0f}, {qs[i].c, 1.0f}, {qs[i].a, -1.0f}});
    std::copy(q.begin(), q.end(), queries.begin() + static_cast<int64_t>(i) * d);
    exclude[i] = {qs[i].a, qs[i].b, qs[i].c};
  }
  auto found = search.search(queries.data(), static_cast<int64_t>(qs.size()), 5, exclude, pool);
  for (size_t i = 0; i < qs.size(); ++i) {
    // gensim: the first of the 5 answers that is not a question word; if none, the last one.
    std::string predicted;
    bool have = false;
    for (const Neighbour& n : found[i]) {
      predicted = opt.case_insensitive ? text::to_upper(v.word(n.row)) : v.word(n.row);
      have = true;
      if (predicted != qs[i].upper[0] && predicted != qs[i].upper[1] &&
          predicted != qs[i].upper[2]) {
        break;
      }
    }
    auto& sec = r.sections[qs[i].section];
    (have && predicted == qs[i].upper[3] ? sec.correct : sec.incorrect) += 1;
  }
  r.total.name = "Total accuracy";
  for (const auto& s : r.sections) {
    r.total.correct += s.correct;
    r.total.incorrect += s.incorrect;
  }
  return r;
}

AnalogyResult evaluate_word_analogies_file(const Vectors& v, const std::string& path,
                                           const EvalOptions& opt, ThreadPool& pool) {
  auto f = MappedFile::open(path);
  return evaluate_word_analogies(v, f->view(), path, opt, pool);
}

}  // namespace loom::wordvec

namespace loom::wordvec {

namespace {

// Python's float(): surrounding whitespace, an optional sign, decimal or inf/nan.
bool py_float(std::string_view s, double& out) {
  s = strip(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && s.find('(') == std::string_view::npos;
}

std::vector<std::string_view> split_on(std::string_view s, char delim) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    size_t end = s.find(delim, pos);
    if (end == std::string_view::npos) {
      out.push_back(s.substr(pos));
      return out;
    }
    out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
}

std::vector<double> ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    const double avg = 0.5 * double(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) r[order[k]] = avg;
    i = j + 1;
  }
  return r;
}

}  // namespace

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (n < 2 || y.size() != n) return kNaN;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= double(n), my /= double(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (!(sxx > 0 && syy > 0)) return kNaN;  // a constant series has no correlation
  const double r = sxy / std::sqrt(sxx * syy);
  return std::max(-1.0, std::min(1.0, r));
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() < 2 || y.size() != x.size()) return kNaN;
  return pearson(ranks(x), ranks(y));
}

PairsResult evaluate_word_pairs(const Vectors& v, std::string_view text, char delimiter,
                                const EvalOptions& opt, PairColumns cols, const std::string& name) {
  NeighbourSearch search(v, opt.restrict_vocab);
  auto vocab = ok_vocab(v, search.limit(), opt.case_insensitive);
  const size_t need = size_t(std::max({cols.word1, cols.word2, cols.score})) + 1;
  std::vector<double> gold, model;
  PairsResult r;
  for (const std::string& line : universal_lines(text)) {
    if (!line.empty() && line.front() == '#') continue;
    auto f = split_on(line, delimiter);
    double score = 0;
    if ((!cols.chosen ? f.size() != 3 : f.size() < need) ||
        !py_float(f[size_t(cols.score)], score)) {
      ++r.skipped_lines;
      continue;
    }
    std::string a(f[size_t(cols.word1)]), b(f[size_t(cols.word2)]);
    if (opt.case_insensitive) a = text::to_upper(a), b = text::to_upper(b);
    auto ia = vocab.find(a), ib = vocab.find(b);
    if (ia == vocab.end() || ib == vocab.end()) {
      ++r.oov;
      if (opt.dummy4unknown) gold.push_back(score), model.push_back(0.0);
      continue;
    }
    gold.push_back(score);
    model.push_back(search.similarity(ia->second, ib->second));
  }
  if (gold.empty()) {
    throw Error(name + ": no valid similarity judgements (" + std::to_string(r.skipped_lines) +
                " lines not 'word1" + std::string(1, delimiter) + "word2" +
                std::string(1, delimiter) + "score', " + std::to_string(r.oov) +
                " pairs out of vocabulary)");
  }
  if (gold.size() < 2) {
    throw Error(name + ": only one similarity judgement could be scored; correlations need two");
  }
  r.pairs = static_cast<int64_t>(gold.size());
  r.pearson = pearson(gold, model);
  r.spearman = spearman(gold, model);
  const double denom = opt.dummy4unknown ? double(gold.size()) : double(gold.size() + r.oov);
  r.oov_ratio = denom > 0 ? 100.0 * double(r.oov) / denom : kNaN;
  return r;
}

PairsResult evaluate_word_pairs_file(const Vectors& v, const std::string& path, char delimiter,
                                     const EvalOptions& opt, PairColumns columns) {
  auto f = MappedFile::open(path);
  return evaluate_word_pairs(v, f->view(), delimiter, opt, columns, path);
}

}  // namespace loom::wordvec
