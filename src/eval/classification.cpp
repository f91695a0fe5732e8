// Classification metrics (see classification.h).
#include "eval/classification.h"

#include <algorithm>
#include <cstdio>

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
