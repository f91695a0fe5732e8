// `loom eval metrics` (score a TREC run against qrels, trec_eval's conventions) and
// `loom eval retrieval` (run BM25 / dense / hybrid on a BEIR data set and print a BEIR table).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include "bm25_flags.h"
#include "cli.h"
#include "cmd_embed.h"
#include "core/error.h"
#include "core/threads.h"
#include "index/npy.h"
#include "retrieval/bm25.h"
#include "retrieval/definitions.h"
#include "retrieval/metrics.h"
#include "retrieval/retriever.h"

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

// Prints the embedder's progress bars ("embed documents", "embed queries") and notes.
class ProgressEncoder : public rt::TextEncoder {
 public:
  explicit ProgressEncoder(std::unique_ptr<loom::embed::Embedder> e) : e_(std::move(e)) {}
  int64_t dim() const override { return e_->dim(); }
  std::vector<float> encode(std::span<const std::string> texts, rt::TextRole role,
                            loom::ThreadPool& pool) const override {
    return loom::cli::embed_with_progress(
        *e_, texts, pool, role == rt::TextRole::kDocument ? "embed documents" : "embed queries");
  }

 private:
  std::unique_ptr<loom::embed::Embedder> e_;
};

// Precomputed --doc-vectors / --query-vectors (.npy rows in corpus / queries order).
struct QueryVectors {
  std::vector<float> data;
};

std::unique_ptr<rt::DenseRetriever> dense_from_files(const Args& a, const rt::BeirDataset& ds,
                                                     const rt::DenseOptions& o,
                                                     loom::ThreadPool& pool, QueryVectors& qv) {
  if (!a.has("doc-vectors") || !a.has("query-vectors")) {
    throw UsageError{
        "--retriever dense/hybrid needs --model (embed here) or --doc-vectors and "
        "--query-vectors (.npy rows in corpus.jsonl / queries.jsonl order)"};
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
  if (qs.cols != docs.cols) {
    throw loom::Error(a.str("query-vectors") + ": " + std::to_string(qs.cols) +
                      " columns, but the document vectors have " + std::to_string(docs.cols));
  }
  qv.data = std::move(qs.data);
  std::vector<std::string> ids;
  for (const auto& d : ds.corpus) ids.push_back(d.id);
  return std::make_unique<rt::DenseRetriever>(std::move(ids), docs.data, docs.cols, o, &pool);
}

// The dense retriever of --model (embedding here) or of precomputed vectors; encoder keeps the
// embedder alive for the queries.
std::unique_ptr<rt::DenseRetriever> dense_retriever(const Args& a, const rt::BeirDataset& ds,
                                                    loom::ThreadPool& pool,
                                                    std::unique_ptr<ProgressEncoder>& encoder,
                                                    QueryVectors& qv) {
  rt::DenseOptions o;
  o.index_type = a.str("index-type", "flat");
  o.metric = loom::index::parse_metric(a.str("metric", "cos"));
  if (!a.has("model")) return dense_from_files(a, ds, o, pool, qv);
  if (a.has("doc-vectors") || a.has("query-vectors"))
    throw UsageError{"give either --model or --doc-vectors/--query-vectors, not both"};
  encoder = std::make_unique<ProgressEncoder>(loom::cli::make_embedder(a));
  return std::make_unique<rt::DenseRetriever>(ds.corpus, *encoder, o, pool);
}

rt::BeirDataset load_dataset(const Args& a, const std::string& dir) {
  std::vector<std::string> issues;
  rt::LoadOptions lo{a.flag("skip-bad-lines"), &issues};
  std::string task = a.str("task", std::filesystem::is_directory(dir) ? "beir" : "definitions");
  rt::BeirDataset ds;
  if (task == "beir") {
    ds = rt::load_beir(dir, a.str("split", "test"), lo);
  } else if (task == "definitions") {
    ds = rt::load_definitions_task(dir, a.integer("holdout-every", 10), lo);
  } else {
    throw UsageError{"flag --task: expected beir or definitions"};
  }
  for (const auto& s : issues) std::fprintf(stderr, "skipped %s\n", s.c_str());
  return ds;
}

// The run of --retriever over every query, depth documents each.
rt::TrecRun retrieve(const Args& a, const std::string& retriever, const rt::BeirDataset& ds,
                     size_t depth, loom::ThreadPool& pool) {
  const rt::Bm25Params bp = loom::cli::bm25_params(a, "");
  if (retriever == "bm25") return rt::Bm25Index(ds.corpus, bp).search_all(ds.queries, depth, &pool);
  std::unique_ptr<ProgressEncoder> encoder;
  QueryVectors qv;
  std::unique_ptr<rt::DenseRetriever> dense = dense_retriever(a, ds, pool, encoder, qv);
  const float* query_vectors = qv.data.empty() ? nullptr : qv.data.data();
  if (retriever == "dense") return dense->search_all(ds.queries, depth, pool, query_vectors);
  rt::HybridOptions ho;
  ho.bm25 = bp;
  ho.rrf_k = a.number("rrf-k", 60);
  rt::HybridRetriever hybrid(ds.corpus, std::move(dense), ho);
  return hybrid.search_all(ds.queries, depth, pool, query_vectors);
}

const std::vector<std::pair<std::string, std::string>> kFamilies = {{"NDCG", "ndcg_cut_"},
                                                                    {"MAP", "map_cut_"},
                                                                    {"Recall", "recall_"},
                                                                    {"P", "P_"},
                                                                    {"MRR", "mrr_cut_"}};

void print_table(const std::string& name, const std::string& retriever, const rt::Evaluation& e,
                 size_t documents, double secs, const std::vector<int>& cutoffs, bool json) {
  if (json) {
    std::printf(
        "{\"dataset\": %s, \"retriever\": %s, \"queries\": %lld, \"documents\": %zu, \"seconds\": "
        "%.3f",
        loom::cli::json_quote(name).c_str(), loom::cli::json_quote(retriever).c_str(),
        (long long)e.num_q, documents, secs);
    for (const auto& [label, prefix] : kFamilies) {
      for (int c : cutoffs) {
        std::printf(", \"%s@%d\": %.6f", label.c_str(), c,
                    rt::metric(e, prefix + std::to_string(c)));
      }
    }
    std::printf("}\n");
    return;
  }
  std::printf("%s  retriever %s  %lld queries  %zu documents  %.2f s\n", name.c_str(),
              retriever.c_str(), (long long)e.num_q, documents, secs);
  std::printf("%-10s", "");
  for (int c : cutoffs) std::printf("  %8s", ("@" + std::to_string(c)).c_str());
  std::printf("\n");
  for (const auto& [label, prefix] : kFamilies) {
    std::printf("%-10s", label.c_str());
    for (int c : cutoffs) std::printf("  %8.4f", rt::metric(e, prefix + std::to_string(c)));
    std::printf("\n");
  }
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
  auto t0 = std::chrono::steady_clock::now();
  rt::BeirDataset ds = load_dataset(a, dir);
  loom::ThreadPool pool(a.threads());
  rt::TrecRun run = retrieve(a, retriever, ds, static_cast<size_t>(depth), pool);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (a.has("run-out")) rt::save_run(run, a.str("run-out"), "loom-" + retriever);

  std::vector<int> cutoffs{1, 3, 5, static_cast<int>(k), 100};
  std::sort(cutoffs.begin(), cutoffs.end());
  cutoffs.erase(std::unique(cutoffs.begin(), cutoffs.end()), cutoffs.end());
  // Every judged query of the data set counts: one the retriever found nothing for scores 0
  // (trec_eval -c), so retrievers that return nothing for hard queries are not flattered.
  for (const auto& q : ds.queries) {
    if (ds.qrels.count(q.id)) run[q.id];
  }
  rt::Evaluation e = rt::evaluate(ds.qrels, run, cutoffs);
  print_table(dataset_name(dir), retriever, e, ds.corpus.size(), secs, cutoffs, a.json());
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

static std::vector<loom::cli::Flag> retrieval_flags() {
  std::vector<loom::cli::Flag> f = {
      {"data", "PATH",
       "BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv) or a "
       "term<TAB>definition TSV",
       ""},
      {"task", "KIND", "beir or definitions (default: beir for a folder, else definitions)", ""},
      {"holdout-every", "N",
       "definitions: entries whose 1-based line number is divisible by N take part", "10"},
      {"split", "NAME", "qrels split", "test"},
      {"retriever", "NAME", "bm25, dense or hybrid (reciprocal-rank fusion)", "bm25"},
      {"k", "N", "headline cutoff (table shows 1, 3, 5, k, 100)", "10"},
      {"depth", "N", "documents retrieved per query", "1000"},
      {"doc-vectors", "FILE.npy", "dense: document embeddings, corpus order (or --model)", ""},
      {"query-vectors", "FILE.npy", "dense: query embeddings, queries order", ""},
      {"index-type", "KIND", "dense: flat, hnsw or vamana", "flat"},
      {"metric", "M", "dense: ip, l2 or cos", "cos"},
      {"rrf-k", "X", "hybrid: reciprocal-rank fusion constant", "60"},
      {"run-out", "FILE", "also write the run in TREC format", ""},
      {"skip-bad-lines", "",
       "skip malformed JSONL/TSV lines (listed on stderr) instead of stopping", ""}};
  for (auto& x : loom::cli::bm25_flags("")) f.push_back(x);
  for (auto& x : loom::cli::embedder_flags()) {
    x.help = "dense: " + x.help;
    f.push_back(x);
  }
  return f;
}

LOOM_COMMAND("eval retrieval", "run a retriever on a BEIR data set and print a BEIR-style table",
             retrieval_flags(), run_retrieval,
             "Dense retrieval embeds documents (title + ' ' + text) and queries with --model, or\n"
             "reads precomputed --doc-vectors/--query-vectors. A TSV --data builds the definition\n"
             "task: query = term, relevant document = its definition, held-out lines only.\n"
             "Every judged query counts; one with nothing retrieved scores 0 (trec_eval -c).\n"
             "Examples:\n"
             "  loom eval retrieval --data cranfield --retriever dense --model stories260K.bin\n"
             "    --tokenizer tok512.model --threads 2\n"
             "  loom eval retrieval --data foldoc.tsv --retriever bm25");
