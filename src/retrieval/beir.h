// BEIR-format data sets: corpus.jsonl ({"_id", "title", "text"}), queries.jsonl ({"_id",
// "text"}), qrels/<split>.tsv (header "query-id corpus-id score"). TREC qrels ("qid 0 docid rel")
// are read too. Malformed JSONL lines are reported with their line number and either stop the
// load (default) or are skipped and listed.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace loom::retrieval {

struct Document {
  std::string id, title, text;
};
struct Query {
  std::string id, text;
};
// qid -> docid -> graded relevance
using Qrels = std::map<std::string, std::map<std::string, int>>;

struct LoadOptions {
  bool skip_malformed = false;  // false: a bad line throws loom::Error naming file:line
  std::vector<std::string>* issues = nullptr;  // receives "file:line: what" for skipped lines
};

std::vector<Document> load_corpus(const std::string& path, const LoadOptions& options = {});
std::vector<Query> load_queries(const std::string& path, const LoadOptions& options = {});
// Either BEIR TSV (a "query-id" header line, then qid<TAB>docid<TAB>score) or TREC
// (qid iter docid rel, whitespace separated). Duplicate (qid, docid) pairs are an error.
Qrels load_qrels(const std::string& path);
Qrels parse_qrels(const std::string& text, const std::string& name);

struct BeirDataset {
  std::vector<Document> corpus;
  std::vector<Query> queries;
  Qrels qrels;
};
// dir/corpus.jsonl, dir/queries.jsonl, dir/qrels/<split>.tsv.
BeirDataset load_beir(const std::string& dir, const std::string& split = "test",
                      const LoadOptions& options = {});

// Parses one JSONL text (exposed for tests and the fuzzer); kind is "corpus" or "queries".
std::vector<Document> parse_jsonl_documents(const std::string& text, const std::string& name,
                                            bool queries, const LoadOptions& options);

}  // namespace loom::retrieval
