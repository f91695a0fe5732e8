// `loom eval metrics` (score a TREC run against qrels, trec_eval's conventions) and
// `loom eval retrieval` (run BM25 / dense / hybrid on a BEIR data set and print a BEIR table).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>

#include "cli.h"
#include "core/error.h"
#include "core/threads.h"
#include "index/factory.h"
#include "index/npy.h"
#include "retrieval/bm25.h"
#include "retrieval/dense.h"
#include "retrieval/metrics.h"

namespace {

using loom::cli::Args;
using loom::cli::UsageError;
namespace rt = loom::retrieval;

std::vector<int> parse_cutoffs(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* e = nullptr;
    long v = std::strtol(item.c_str(), &e, 10);
    if (item.empty() || *e != '\0' || v <= 0 || v > 100000) {
      throw UsageError{"flag --cutoffs: expected positive integers separated by commas, got '" + s +
                       "'"};
    }
    out.push_back(static_cast<int>(v));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool is_count(const std::string& name) {
  return name == "num_q" || name == "num_ret" || name == "num_rel" || name == "num_rel_ret";
}

void print_metrics(const std::vector<rt::MetricValue>& values, bool json) {
  if (json) {
    std::printf("{");
    for (size_t i = 0; i < values.size(); ++i) {
      std::printf("%s%s: %.10g", i ? ", " : "", loom::cli::json_quote(values[i].name).c_str(),
                  values[i].value);
    }
    std::printf("}\n");
    return;
  }
  for (const auto& m : values) {
    if (is_count(m.name))
      std::printf("%s\t%lld\n", m.name.c_str(), static_cast<long long>(m.value));
    else
      std::printf("%s\t%.4f\n", m.name.c_str(), m.value);
  }
}

int run_metrics(const Args& a) {
  rt::Qrels qrels = rt::load_qrels(a.need("qrels"));
  rt::TrecRun run = rt::load_run(a.need("run"));
  rt::Evaluation e = rt::evaluate(qrels, run, parse_cutoffs(a.str("cutoffs", "1,3,5,10,100,1000")));
  if (e.num_q == 0)
    throw loom::Error(a.str("run") + ": no query of the run appears in " + a.str("qrels"));
  if (a.flag("per-query") && !a.json()) {
    for (const auto& [qid, values] : e.per_query) {
      for (const auto& m : values)
        std::printf("%s\t%s\t%.4f\n", m.name.c_str(), qid.c_str(), m.value);
    }
  }
  print_metrics(e.mean, a.json());
  return 0;
}

std::string dataset_name(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  size_t s = dir.rfind('/');
  return s == std::string::npos ? dir : dir.substr(s + 1);
}

rt::TrecRun dense_run(const Args& a, const rt::BeirDataset& ds, size_t depth,
                      loom::ThreadPool* pool) {
  if (!a.has("doc-vectors") || !a.has("query-vectors")) {
    throw UsageError{
        "--retriever dense/hybrid needs --doc-vectors and --query-vectors (.npy rows in "
        "corpus.jsonl / queries.jsonl order)"};
  }
  namespace ix = loom::index;
  ix::NpyMatrix docs = ix::read_npy_f32(a.str("doc-vectors"));
  ix::NpyMatrix qs = ix::read_npy_f32(a.str("query-vectors"));
  if (docs.rows != static_cast<int64_t>(ds.corpus.size())) {
    throw loom::Error(a.str("doc-vectors") + ": " + std::to_string(docs.rows) + " rows for " +
                      std::to_string(ds.corpus.size()) + " documents");
  }
  if (qs.rows != static_cast<int64_t>(ds.queries.size())) {
    throw loom::Error(a.str("query-vectors") + ": " + std::to_string(qs.rows) + " rows for " +
                      std::to_string(ds.queries.size()) + " queries");
  }
  auto index = ix::make_index(a.str("index-type", "flat"), docs.cols,
                              ix::parse_metric(a.str("metric", "cos")));
  index->check_dim(qs.cols, a.str("query-vectors"));
  std::vector<uint64_t> ids(ds.corpus.size());
  std::vector<std::string> doc_ids(ds.corpus.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    ids[i] = i;
    doc_ids[i] = ds.corpus[i].id;
  }
  index->add(ids, docs.data.data(), pool);
  ix::SearchParams sp;
  sp.pool = pool;
  return rt::dense_search(*index, doc_ids, ds.queries, qs.data.data(), depth, sp);
}

int run_retrieval(const Args& a) {
  std::string dir = a.need("data");
  std::string retriever = a.str("retriever", "bm25");
  if (retriever != "bm25" && retriever != "dense" && retriever != "hybrid") {
    throw UsageError{"flag --retriever: expected bm25, dense or hybrid"};
  }
  long long k = a.integer("k", 10);
  long long depth = a.integer("depth", 1000);
  if (k <= 0 || depth <= 0) throw UsageError{"--k and --depth must be positive"};
  std::vector<std::string> issues;
  rt::LoadOptions lo{a.flag("skip-bad-lines"), &issues};
  auto t0 = std::chrono::steady_clock::now();
  rt::BeirDataset ds = rt::load_beir(dir, a.str("split", "test"), lo);
  for (const auto& s : issues) std::fprintf(stderr, "skipped %s\n", s.c_str());
  loom::ThreadPool pool(a.threads());

  rt::TrecRun run, lexical, dense;
  if (retriever != "dense") {
    rt::Bm25Params bp;
    bp.k1 = a.number("k1", 0.9);
    bp.b = a.number("b", 0.4);
    bp.analyzer.stopwords = a.flag("stopwords");
    rt::Bm25Index bm25(ds.corpus, bp);
    lexical = bm25.search_all(ds.queries, static_cast<size_t>(depth), &pool);
  }
  if (retriever != "bm25") dense = dense_run(a, ds, static_cast<size_t>(depth), &pool);
  if (retriever == "bm25")
    run = std::move(lexical);
  else if (retriever == "dense")
    run = std::move(dense);
  else
    run = rt::rrf_fuse({&lexical, &dense}, a.number("rrf-k", 60), static_cast<size_t>(depth));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (a.has("run-out")) rt::save_run(run, a.str("run-out"), "loom-" + retriever);

  std::vector<int> cutoffs{1, 3, 5, static_cast<int>(k), 100};
  std::sort(cutoffs.begin(), cutoffs.end());
  cutoffs.erase(std::unique(cutoffs.begin(), cutoffs.end()), cutoffs.end());
  rt::Evaluation e = rt::evaluate(ds.qrels, run, cutoffs);
  const std::string name = dataset_name(dir);
  const std::vector<std::pair<std::string, std::string>> families = {{"NDCG", "ndcg_cut_"},
                                                                     {"MAP", "map_cut_"},
                                                                     {"Recall", "recall_"},
                                                                     {"P", "P_"},
                                                                     {"MRR", "mrr_cut_"}};
  if (a.json()) {
    std::printf(
        "{\"dataset\": %s, \"retriever\": %s, \"queries\": %lld, \"documents\": %zu, \"seconds\": "
        "%.3f",
        loom::cli::json_quote(name).c_str(), loom::cli::json_quote(retriever).c_str(),
        (long long)e.num_q, ds.corpus.size(), secs);
    for (const auto& [label, prefix] : families) {
      for (int c : cutoffs) {
        std::printf(", \"%s@%d\": %.6f", label.c_str(), c,
                    rt::metric(e, prefix + std::to_string(c)));
      }
    }
    std::printf("}\n");
    return 0;
  }
  std::printf("%s  retriever %s  %lld queries  %zu documents  %.2f s\n", name.c_str(),
              retriever.c_str(), (long long)e.num_q, ds.corpus.size(), secs);
  std::printf("%-10s", "");
  for (int c : cutoffs) std::printf("  %8s", ("@" + std::to_string(c)).c_str());
  std::printf("\n");
  for (const auto& [label, prefix] : families) {
    std::printf("%-10s", label.c_str());
    for (int c : cutoffs) std::printf("  %8.4f", rt::metric(e, prefix + std::to_string(c)));
    std::printf("\n");
  }
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "eval metrics", "score a TREC run against qrels as trec_eval does; prints metric<TAB>value",
    {{"qrels", "FILE", "BEIR qrels (TSV with header) or TREC qrels (qid 0 docid rel)", ""},
     {"run", "FILE", "TREC run: qid Q0 docid rank score tag", ""},
     {"cutoffs", "LIST", "cutoffs for ndcg_cut/map_cut/P/recall/mrr_cut", "1,3,5,10,100,1000"},
     {"per-query", "", "also print metric<TAB>qid<TAB>value per query", ""}},
    run_metrics,
    "Conventions (trec_eval 9): ranking by score descending, ties by docid descending;\n"
    "relevant = judged value >= 1; ndcg gain = judged value; means over queries in both files.");

LOOM_COMMAND("eval retrieval", "run a retriever on a BEIR data set and print a BEIR-style table",
             {{"data", "DIR", "BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv", ""},
              {"split", "NAME", "qrels split", "test"},
              {"retriever", "NAME", "bm25, dense or hybrid (reciprocal-rank fusion)", "bm25"},
              {"k", "N", "headline cutoff (table shows 1, 3, 5, k, 100)", "10"},
              {"depth", "N", "documents retrieved per query", "1000"},
              {"k1", "X", "bm25 k1", "0.9"},
              {"b", "X", "bm25 b", "0.4"},
              {"stopwords", "", "bm25: drop English stopwords", ""},
              {"doc-vectors", "FILE.npy", "dense: document embeddings, corpus order", ""},
              {"query-vectors", "FILE.npy", "dense: query embeddings, queries order", ""},
              {"index-type", "KIND", "dense: flat, hnsw or vamana", "flat"},
              {"metric", "M", "dense: ip, l2 or cos", "cos"},
              {"rrf-k", "X", "hybrid: reciprocal-rank fusion constant", "60"},
              {"run-out", "FILE", "also write the run in TREC format", ""},
              {"skip-bad-lines", "",
               "skip malformed JSONL lines (listed on stderr) instead of stopping", ""}},
             run_retrieval);
