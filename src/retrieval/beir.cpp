#include "retrieval/beir.h"

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::retrieval {

namespace {

// A JSON id may be a string or an integer (some BEIR sets write numbers).
bool id_of(const nlohmann::json& j, std::string* out) {
  if (j.is_string()) {
    *out = j.get<std::string>();
    return !out->empty();
  }
  if (j.is_number_integer()) {
    *out = std::to_string(j.get<int64_t>());
    return true;
  }
  if (j.is_number_unsigned()) {
    *out = std::to_string(j.get<uint64_t>());
    return true;
  }
  return false;
}

std::string text_field(const nlohmann::json& obj, const char* key, bool* ok) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "";
  if (!it->is_string()) {
    *ok = false;
    return "";
  }
  return it->get<std::string>();
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> f;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t s = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > s) f.push_back(line.substr(s, i - s));
  }
  return f;
}

bool parse_int(std::string_view s, int* v) {
  // BEIR qrels sometimes write "1.0"; accept an integral decimal too.
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  if (ec == std::errc() && p == s.data() + s.size()) return true;
  double d;
  auto [p2, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec2 != std::errc() || p2 != s.data() + s.size()) return false;
  // Range check first: casting an out-of-range double to int is undefined behaviour.
  if (!(d >= std::numeric_limits<int>::min() && d <= std::numeric_limits<int>::max())) return false;
  if (d != static_cast<int>(d)) return false;
  *v = static_cast<int>(d);
  return true;
}

}  // namespace

std::vector<Document> parse_jsonl_documents(const std::string& text, const std::string& name,
                                            bool queries, const LoadOptions& options) {
  std::vector<Document> out;
  std::set<std::string> seen;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    std::string problem;
    Document d;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    bool ok = true;
    if (j.is_discarded()) {
      problem = "malformed JSON";
    } else if (!j.is_object()) {
      problem = "expected a JSON object";
    } else if (!j.contains("_id") || !id_of(j["_id"], &d.id)) {
      problem = "missing or invalid \"_id\" (expected a non-empty string)";
    } else {
      d.text = text_field(j, "text", &ok);
      if (!queries) d.title = text_field(j, "title", &ok);
      if (!ok)
        problem = "\"title\"/\"text\" must be strings";
      else if (!seen.insert(d.id).second)
        problem = "duplicate _id \"" + d.id + "\"";
    }
    if (!problem.empty()) {
      std::string msg = name + ":" + std::to_string(line_no) + ": " + problem;
      if (!options.skip_malformed) throw Error(msg + " (use the skip option to drop bad lines)");
      if (options.issues) options.issues->push_back(msg);
      continue;
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<Document> load_corpus(const std::string& path, const LoadOptions& options) {
  return parse_jsonl_documents(read_file(path), path, false, options);
}

std::vector<Query> load_queries(const std::string& path, const LoadOptions& options) {
  std::vector<Query> q;
  for (auto& d : parse_jsonl_documents(read_file(path), path, true, options)) {
    q.push_back({std::move(d.id), std::move(d.text)});
  }
  return q;
}

Qrels parse_qrels(const std::string& text, const std::string& name) {
  Qrels qrels;
  size_t pos = 0, line_no = 0;
  bool first = true;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    auto f = split_ws(line);
    if (f.empty()) continue;
    if (first && f[0] == "query-id") {  // BEIR header
      first = false;
      continue;
    }
    first = false;
    std::string_view qid, docid, rel;
    if (f.size() == 3) {
      qid = f[0], docid = f[1], rel = f[2];
    } else if (f.size() == 4) {
      qid = f[0], docid = f[2], rel = f[3];
    } else {
      throw Error(name + ":" + std::to_string(line_no) +
                  ": expected 3 fields (query-id corpus-id score) "
                  "or 4 (qid iter docid rel), got " +
                  std::to_string(f.size()));
    }
    int r;
    if (!parse_int(rel, &r)) {
      throw Error(name + ":" + std::to_string(line_no) + ": relevance '" + std::string(rel) +
                  "' is not an integer");
    }
    if (!qrels[std::string(qid)].emplace(std::string(docid), r).second) {
      throw Error(name + ":" + std::to_string(line_no) + ": duplicate judgement for query " +
                  std::string(qid) + " document " + std::string(docid));
    }
  }
  return qrels;
}

Qrels load_qrels(const std::string& path) { return parse_qrels(read_file(path), path); }

BeirDataset load_beir(const std::string& dir, const std::string& split,
                      const LoadOptions& options) {
  BeirDataset ds;
  ds.corpus = load_corpus(dir + "/corpus.jsonl", options);
  ds.queries = load_queries(dir + "/queries.jsonl", options);
  ds.qrels = load_qrels(dir + "/qrels/" + split + ".tsv");
  return ds;
}

}  // namespace loom::retrieval
