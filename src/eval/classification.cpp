// Classification metrics (see classification.h).
#include "eval/classification.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>

#include "core/error.h"

namespace loom::eval {

namespace {

void check_labels(const std::vector<int32_t>& v, const char* what, int64_t num_labels) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] < 0 || v[i] >= num_labels)
      throw Error(std::string("classification metrics: ") + what + " label " +
                  std::to_string(v[i]) + " at index " + std::to_string(i) + ", expected 0.." +
                  std::to_string(num_labels - 1));
}

double ratio(int64_t num, int64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

}  // namespace

ClassificationReport classification_report(const std::vector<int32_t>& truth,
                                           const std::vector<int32_t>& predicted,
                                           int64_t num_labels) {
  if (num_labels < 1) throw Error("classification metrics: num_labels must be >= 1");
  if (truth.size() != predicted.size())
    throw Error("classification metrics: " + std::to_string(truth.size()) + " true labels but " +
                std::to_string(predicted.size()) + " predictions");
  check_labels(truth, "true", num_labels);
  check_labels(predicted, "predicted", num_labels);
  ClassificationReport r;
  const auto n = static_cast<size_t>(num_labels);
  r.examples = static_cast<int64_t>(truth.size());
  r.confusion.assign(n, std::vector<int64_t>(n, 0));
  int64_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    ++r.confusion[static_cast<size_t>(truth[i])][static_cast<size_t>(predicted[i])];
    correct += truth[i] == predicted[i] ? 1 : 0;
  }
  r.accuracy = ratio(correct, r.examples);
  r.classes.resize(n);
  for (size_t c = 0; c < n; ++c) {
    int64_t predicted_c = 0;
    for (size_t t = 0; t < n; ++t) predicted_c += r.confusion[t][c];
    ClassMetrics& m = r.classes[c];
    for (int64_t x : r.confusion[c]) m.support += x;
    m.precision = ratio(r.confusion[c][c], predicted_c);
    m.recall = ratio(r.confusion[c][c], m.support);
    const double s = m.precision + m.recall;
    m.f1 = s > 0 ? 2 * m.precision * m.recall / s : 0.0;
    r.macro_f1 += m.f1 / static_cast<double>(n);
  }
  return r;
}

std::string format_report(const ClassificationReport& r, const std::vector<std::string>& names) {
  auto name = [&](size_t c) { return c < names.size() ? names[c] : std::to_string(c); };
  char b[200];
  std::snprintf(b, sizeof b, "accuracy %.4f  macro-F1 %.4f  (%lld examples)\n", r.accuracy,
                r.macro_f1, static_cast<long long>(r.examples));
  std::string out = b;
  out += "class        precision  recall     f1  support\n";
  for (size_t c = 0; c < r.classes.size(); ++c) {
    const ClassMetrics& m = r.classes[c];
    std::snprintf(b, sizeof b, "%-12s %9.4f %7.4f %6.4f %8lld\n", name(c).c_str(), m.precision,
                  m.recall, m.f1, static_cast<long long>(m.support));
    out += b;
  }
  out += "confusion (rows: true, columns: predicted)\n";
  for (size_t t = 0; t < r.confusion.size(); ++t) {
    std::snprintf(b, sizeof b, "%-12s", name(t).c_str());
    out += b;
    for (int64_t x : r.confusion[t]) {
      std::snprintf(b, sizeof b, " %7lld", static_cast<long long>(x));
      out += b;
    }
    out += "\n";
  }
  return out;
}

}  // namespace loom::eval

namespace loom::eval {
namespace {

struct Entity {
  std::string type;
  int64_t first = 0, last = 0;
  auto operator<=>(const Entity&) const = default;
};

// seqeval's split of a tag into its prefix and its type.
std::pair<char, std::string> split_tag(const std::string& tag) {
  const std::string rest = tag.empty() ? std::string() : tag.substr(1);
  const size_t dash = rest.find('-');
  std::string type = dash == std::string::npos ? rest : rest.substr(dash + 1);
  return {tag.empty() ? 'O' : tag[0], type.empty() ? "_" : type};
}

bool chunk_ends(char prev, char tag, const std::string& prev_type, const std::string& type) {
  if (prev == 'E' || prev == 'S') return true;
  if ((prev == 'B' || prev == 'I') && (tag == 'B' || tag == 'S' || tag == 'O')) return true;
  return prev != 'O' && prev != '.' && prev_type != type;
}

bool chunk_starts(char prev, char tag, const std::string& prev_type, const std::string& type) {
  if (tag == 'B' || tag == 'S') return true;
  if ((prev == 'E' || prev == 'S' || prev == 'O') && (tag == 'E' || tag == 'I')) return true;
  return tag != 'O' && tag != '.' && prev_type != type;
}

// seqeval's get_entities over the sentences joined with an "O" after each, sorted.
std::vector<Entity> entities(const std::vector<std::vector<std::string>>& sentences) {
  std::vector<Entity> out;
  char prev = 'O';
  std::string prev_type;
  int64_t begin = 0, i = 0;
  auto visit = [&](const std::string& tag) {
    auto [t, type] = split_tag(tag);
    if (chunk_ends(prev, t, prev_type, type)) out.push_back({prev_type, begin, i - 1});
    if (chunk_starts(prev, t, prev_type, type)) begin = i;
    prev = t;
    prev_type = std::move(type);
    ++i;
  };
  for (const auto& s : sentences) {
    for (const std::string& tag : s) visit(tag);
    visit("O");
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

EntityScores scores(int64_t correct, int64_t predicted, int64_t truth) {
  EntityScores s{0, 0, 0, correct, predicted, truth};
  s.precision = ratio(correct, predicted);
  s.recall = ratio(correct, truth);
  const double sum = s.precision + s.recall;
  s.f1 = sum > 0 ? 2 * s.precision * s.recall / sum : 0.0;
  return s;
}

}  // namespace

EntityReport entity_report(const std::vector<std::vector<std::string>>& truth,
                           const std::vector<std::vector<std::string>>& predicted) {
  if (truth.size() != predicted.size())
    throw Error("entity metrics: " + std::to_string(truth.size()) + " true sentences but " +
                std::to_string(predicted.size()) + " predicted");
  EntityReport r;
  int64_t same = 0;
  for (size_t k = 0; k < truth.size(); ++k) {
    if (truth[k].size() != predicted[k].size())
      throw Error("entity metrics: sentence " + std::to_string(k) + " has " +
                  std::to_string(truth[k].size()) + " true tags but " +
                  std::to_string(predicted[k].size()) + " predicted");
    r.tokens += static_cast<int64_t>(truth[k].size());
    for (size_t i = 0; i < truth[k].size(); ++i) same += truth[k][i] == predicted[k][i] ? 1 : 0;
  }
  r.token_accuracy = ratio(same, r.tokens);
  const std::vector<Entity> t = entities(truth), p = entities(predicted);
  std::map<std::string, std::array<int64_t, 3>> by_type;  // correct, predicted, true
  for (const Entity& e : p) {
    ++by_type[e.type][1];
    if (std::binary_search(t.begin(), t.end(), e)) ++by_type[e.type][0];
  }
  for (const Entity& e : t) ++by_type[e.type][2];
  std::array<int64_t, 3> all{};
  for (const auto& [type, n] : by_type) {
    r.types.emplace_back(type, scores(n[0], n[1], n[2]));
    for (size_t j = 0; j < 3; ++j) all[j] += n[j];
  }
  r.micro = scores(all[0], all[1], all[2]);
  return r;
}

std::string format_entity_report(const EntityReport& r) {
  char b[200];
  std::snprintf(b, sizeof b,
                "token_accuracy %.4f  entity precision %.4f recall %.4f F1 %.4f  (%lld tokens, "
                "%lld entities)\n",
                r.token_accuracy, r.micro.precision, r.micro.recall, r.micro.f1,
                static_cast<long long>(r.tokens), static_cast<long long>(r.micro.truth));
  std::string out = b;
  out += "entity       precision  recall     f1  support\n";
  for (const auto& [type, s] : r.types) {
    std::snprintf(b, sizeof b, "%-12s %9.4f %7.4f %6.4f %8lld\n", type.c_str(), s.precision,
                  s.recall, s.f1, static_cast<long long>(s.truth));
    out += b;
  }
  return out;
}

}  // namespace loom::eval
