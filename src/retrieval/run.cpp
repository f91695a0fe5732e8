#include "retrieval/run.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::retrieval {

void sort_trec(std::vector<ScoredDoc>& docs) {
  std::sort(docs.begin(), docs.end(), [](const ScoredDoc& a, const ScoredDoc& b) {
    float sa = static_cast<float>(a.score), sb = static_cast<float>(b.score);
    if (sa != sb) return sa > sb;
    return std::strcmp(a.docid.c_str(), b.docid.c_str()) > 0;
  });
}

TrecRun parse_run(const std::string& text, const std::string& name) {
  TrecRun run;
  std::map<std::string, std::set<std::string>> seen;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    std::vector<std::string_view> f;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      size_t s = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
      if (i > s) f.push_back(line.substr(s, i - s));
    }
    if (f.empty()) continue;
    const std::string where = name + ":" + std::to_string(line_no) + ": ";
    if (f.size() != 6) {
      throw Error(where + "expected 6 fields (qid Q0 docid rank score tag), got " +
                  std::to_string(f.size()));
    }
    double score;
    auto [p, ec] = std::from_chars(f[4].data(), f[4].data() + f[4].size(), score);
    if (ec != std::errc() || p != f[4].data() + f[4].size()) {
      throw Error(where + "score '" + std::string(f[4]) + "' is not a number");
    }
    if (!std::isfinite(score)) {
      throw Error(where + "score '" + std::string(f[4]) + "' is not finite (nan or inf)");
    }
    std::string qid(f[0]), docid(f[2]);
    if (!seen[qid].insert(docid).second) {
      throw Error(where + "document " + docid + " appears twice for query " + qid);
    }
    run[qid].push_back({docid, score});
  }
  return run;
}

TrecRun load_run(const std::string& path) { return parse_run(read_file(path), path); }

std::string format_run(const TrecRun& run, const std::string& tag) {
  std::string out;
  char buf[64];
  for (const auto& [qid, docs] : run) {
    std::vector<ScoredDoc> sorted = docs;
    sort_trec(sorted);
    for (size_t i = 0; i < sorted.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%.9g", sorted[i].score);
      out += qid + " Q0 " + sorted[i].docid + " " + std::to_string(i + 1) + " " + buf + " " + tag +
             "\n";
    }
  }
  return out;
}

void save_run(const TrecRun& run, const std::string& path, const std::string& tag) {
  write_file_atomic(path, format_run(run, tag));
}

void truncate_run(TrecRun& run, size_t k) {
  for (auto& [qid, docs] : run) {
    sort_trec(docs);
    if (docs.size() > k) docs.resize(k);
  }
}

}  // namespace loom::retrieval
