// `loom wordvec train|eval|similar|analogy`: word2vec training, gensim-compatible evaluation and
// nearest neighbours. Parsing and printing only; the algorithms live in src/wordvec.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/progress.h"
#include "core/threads.h"
#include "index/factory.h"
#include "wordvec/evaluate.h"
#include "wordvec/similar.h"
#include "wordvec/vectors.h"
#include "wordvec/word2vec.h"

namespace {

using loom::cli::Args;
using loom::cli::UsageError;
namespace wv = loom::wordvec;

wv::Vectors load(const Args& a) {
  const std::string path = a.need("vectors");
  if (a.has("format")) return wv::load_vectors(path, wv::parse_vector_format(a.str("format")));
  return wv::load_vectors(path);
}

std::string num(double x) {
  if (std::isnan(x)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", x);
  return buf;
}

wv::Word2VecOptions train_options(const Args& a) {
  wv::Word2VecOptions o;
  const std::string arch = a.str("arch", "skipgram");
  if (arch != "skipgram" && arch != "cbow") throw UsageError{"flag --arch: skipgram or cbow"};
  o.skip_gram = arch == "skipgram";
  o.dim = a.integer("dim", 100);
  o.window = a.integer("window", 5);
  o.negative = a.integer("negative", 5);
  o.hierarchical_softmax = a.flag("hs");
  o.sample = a.number("sample", 1e-3);
  o.epochs = a.integer("epochs", 5);
  o.alpha = a.number("alpha", 0.025);
  o.min_alpha = a.number("min-alpha", 0.0001);
  o.seed = static_cast<uint64_t>(a.integer("seed", 1));
  o.deterministic = a.flag("deterministic");
  wv::check_options(o);
  return o;
}

int run_train(const Args& a) {
  const std::string corpus = a.need("corpus"), out = a.need("out");
  const wv::VectorFormat format = a.has("format") ? wv::parse_vector_format(a.str("format"))
                                                  : wv::guess_vector_format(out, "");
  wv::Word2VecOptions o = train_options(a);
  auto file = loom::MappedFile::open(corpus);
  auto t0 = std::chrono::steady_clock::now();
  wv::Vocab vocab = wv::build_vocab(file->view(), {a.integer("min-count", 5),
                                                   a.integer("max-vocab", 0)}, corpus);
  const double vocab_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t vocab_size = vocab.size();
  wv::Word2Vec model(std::move(vocab), o);
  loom::ThreadPool pool(a.threads());
  loom::Progress bar("word2vec", 0, "words", loom::stderr_is_tty());
  const std::clock_t cpu0 = std::clock();
  wv::TrainStats st = model.train(file->view(), pool, [&](int64_t done, int64_t total) {
    bar.update(done);
    (void)total;
  });
  bar.finish();
  const double cpu_s = double(std::clock() - cpu0) / CLOCKS_PER_SEC;
  wv::save_vectors(out, model.vectors(), format);
  if (a.json()) {
    std::printf("{\"vocab\": %lld, \"corpus_words\": %lld, \"vocab_seconds\": %.3f, "
                "\"train_seconds\": %.3f, \"train_cpu_seconds\": %.3f, \"words_per_second\": %.0f, "
                "\"out\": %s}\n",
                static_cast<long long>(vocab_size), static_cast<long long>(st.raw_words / o.epochs),
                vocab_s, st.seconds, cpu_s, st.words_per_second(),
                loom::cli::json_quote(out).c_str());
  } else {
    std::printf("vocab %lld words (%.2f s); trained %lld words x %lld epochs in %.2f s, "
                "%.0f words/s, %d threads%s; wrote %s\n",
                static_cast<long long>(vocab_size), vocab_s,
                static_cast<long long>(st.raw_words / o.epochs), static_cast<long long>(o.epochs),
                st.seconds, st.words_per_second(), pool.size(),
                o.deterministic ? ", deterministic" : "", out.c_str());
  }
  return 0;
}

wv::EvalOptions eval_options(const Args& a) {
  wv::EvalOptions o;
  o.restrict_vocab = a.integer("restrict", 300000);
  o.case_insensitive = !a.flag("case-sensitive");
  o.dummy4unknown = a.flag("dummy4unknown");
  return o;
}

wv::PairColumns parse_columns(const std::string& s) {
  wv::PairColumns c;
  if (s.empty()) return c;
  if (std::sscanf(s.c_str(), "%d,%d,%d", &c.word1, &c.word2, &c.score) != 3 || c.word1 < 0 ||
      c.word2 < 0 || c.score < 0) {
    throw UsageError{"flag --columns: expected three field numbers 'w1,w2,score', e.g. 0,1,3"};
  }
  c.chosen = true;
  return c;
}

char parse_delimiter(const std::string& s) {
  if (s == "tab" || s == "\\t") return '\t';
  if (s == "space") return ' ';
  if (s.size() != 1) throw UsageError{"flag --delimiter: one character, 'tab' or 'space'"};
  return s[0];
}

void print_analogies(const wv::AnalogyResult& r, bool json) {
  if (json) {
    std::printf("{\"analogies\": {\"sections\": [");
    for (size_t i = 0; i < r.sections.size(); ++i) {
      const auto& s = r.sections[i];
      std::printf("%s{\"section\": %s, \"correct\": %lld, \"incorrect\": %lld}", i ? ", " : "",
                  loom::cli::json_quote(s.name).c_str(), static_cast<long long>(s.correct),
                  static_cast<long long>(s.incorrect));
    }
    std::printf("], \"correct\": %lld, \"incorrect\": %lld, \"accuracy\": %s, \"questions\": "
                "%lld, \"oov\": %lld, \"oov_ratio\": %s}",
                static_cast<long long>(r.total.correct), static_cast<long long>(r.total.incorrect),
                num(r.total.accuracy()).c_str(), static_cast<long long>(r.questions),
                static_cast<long long>(r.oov), num(r.oov_ratio()).c_str());
    return;
  }
  for (const auto& s : r.sections) {
    std::printf("%-32s %6lld / %-6lld %s\n", s.name.c_str(), static_cast<long long>(s.correct),
                static_cast<long long>(s.correct + s.incorrect), num(s.accuracy()).c_str());
  }
  std::printf("%-32s %6lld / %-6lld %s\n", "Total accuracy",
              static_cast<long long>(r.total.correct),
              static_cast<long long>(r.total.correct + r.total.incorrect),
              num(r.total.accuracy()).c_str());
  std::printf("questions with out-of-vocabulary words: %lld of %lld (%.1f%%), skipped\n",
              static_cast<long long>(r.oov), static_cast<long long>(r.questions), r.oov_ratio());
}

void print_pairs(const wv::PairsResult& r, bool json) {
  if (json) {
    std::printf("\"pairs\": {\"pearson\": %s, \"spearman\": %s, \"scored\": %lld, \"oov\": %lld, "
                "\"oov_ratio\": %s, \"skipped_lines\": %lld}",
                num(r.pearson).c_str(), num(r.spearman).c_str(), static_cast<long long>(r.pairs),
                static_cast<long long>(r.oov), num(r.oov_ratio).c_str(),
                static_cast<long long>(r.skipped_lines));
    return;
  }
  std::printf("pairs: spearman %s  pearson %s  scored %lld  oov %lld (%.2f%%)\n",
              num(r.spearman).c_str(), num(r.pearson).c_str(), static_cast<long long>(r.pairs),
              static_cast<long long>(r.oov), r.oov_ratio);
}

int run_eval(const Args& a) {
  if (!a.has("analogies") && !a.has("pairs")) {
    throw UsageError{"give --analogies FILE and/or --pairs FILE"};
  }
  wv::Vectors v = load(a);
  wv::EvalOptions o = eval_options(a);
  loom::ThreadPool pool(a.threads());
  bool json_open = false;
  if (a.has("analogies")) {
    auto r = wv::evaluate_word_analogies_file(v, a.str("analogies"), o, pool);
    print_analogies(r, a.json());
    json_open = a.json();
  }
  if (a.has("pairs")) {
    auto r = wv::evaluate_word_pairs_file(v, a.str("pairs"), parse_delimiter(a.str("delimiter", "tab")),
                                          o, parse_columns(a.str("columns")));
    if (a.json()) std::printf(json_open ? ", " : "{");
    print_pairs(r, a.json());
    json_open = a.json();
  }
  if (json_open) std::printf("}\n");
  return 0;
}

// close: what ends the JSON array ("]\n"; "]}\n" inside a --queries object).
void print_neighbours(const std::vector<std::pair<std::string, float>>& found, bool json,
                      const char* close = "]\n") {
  if (json) std::printf("[");
  for (size_t i = 0; i < found.size(); ++i) {
    if (json) {
      std::printf("%s{\"word\": %s, \"cosine\": %.6f}", i ? ", " : "",
                  loom::cli::json_quote(found[i].first).c_str(), found[i].second);
    } else {
      std::printf("%s\t%.6f\n", found[i].first.c_str(), found[i].second);
    }
  }
  if (json) std::printf("%s", close);
}

// --index hnsw: loom::index's HNSW graph over the searched rows (cosine; caller id = row).
std::unique_ptr<loom::index::Index> hnsw_over(const wv::Vectors& v, int64_t rows, const Args& a,
                                              loom::ThreadPool& pool) {
  loom::index::IndexOptions o;
  o.hnsw.M = a.integer("m", 16);
  o.hnsw.ef_construction = a.integer("ef-construction", 200);
  if (o.hnsw.M < 2 || o.hnsw.ef_construction < 1)
    throw UsageError{"flags --m >= 2 and --ef-construction >= 1"};
  auto idx = loom::index::make_index("hnsw", v.dim(), loom::index::Metric::kCosine, o);
  std::vector<uint64_t> ids(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) ids[static_cast<size_t>(i)] = static_cast<uint64_t>(i);
  idx->add(ids, v.data().data(), &pool);
  return idx;
}

// The topn rows nearest to q through the index (cosine = -distance), q's own words left out.
std::vector<std::pair<std::string, float>> index_similar(const loom::index::Index& idx,
                                                         const wv::Vectors& v,
                                                         const wv::SimilarQuery& q, int64_t topn,
                                                         int64_t ef) {
  const int64_t k = topn + static_cast<int64_t>(q.exclude.size());
  const loom::index::SearchResults r = idx.search(q.unit.data(), 1, k, {.ef = std::max(ef, k)});
  std::vector<std::pair<std::string, float>> out;
  for (int64_t i = 0; i < k && static_cast<int64_t>(out.size()) < topn; ++i) {
    const uint64_t id = r.ids[static_cast<size_t>(i)];
    if (id == loom::index::kNoId) break;
    const auto row = static_cast<int64_t>(id);
    if (std::find(q.exclude.begin(), q.exclude.end(), row) != q.exclude.end()) continue;
    out.emplace_back(v.word(row), -r.distances[static_cast<size_t>(i)]);
  }
  return out;
}

// The queries: the positional words as one, or each non-empty line of --queries FILE.
std::vector<std::vector<std::string>> similar_queries(const Args& a) {
  if (a.has("queries") == !a.positional().empty())
    throw UsageError{"give the query words or --queries FILE (one query per line), not both"};
  if (!a.has("queries")) return {a.positional()};
  std::vector<std::vector<std::string>> out;
  std::istringstream in(loom::read_file(a.str("queries")));
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> q{std::istream_iterator<std::string>(words), {}};
    out.push_back(std::move(q));  // empty lines too, so that out[i] is line i + 1
  }
  return out;
}

int run_similar(const Args& a) {
  const auto queries = similar_queries(a);
  const std::string kind = a.str("index", "flat");
  if (kind != "flat" && kind != "hnsw") throw UsageError{"flag --index: flat or hnsw"};
  wv::Vectors v = load(a);
  loom::ThreadPool pool(a.threads());
  std::vector<std::string> neg;
  if (a.has("negative")) neg.push_back(a.str("negative"));
  const int64_t topn = a.integer("topn", 10);
  if (topn < 1) throw UsageError{"flag --topn: expected >= 1"};
  const wv::NeighbourSearch search(v, a.integer("restrict", 0));
  const auto idx = kind == "hnsw" ? hnsw_over(v, search.limit(), a, pool) : nullptr;
  for (size_t line = 0; line < queries.size(); ++line) {
    const std::vector<std::string>& words = queries[line];
    if (words.empty()) continue;
    wv::SimilarQuery q;
    try {
      q = wv::similar_query(v, search, words, neg);
    } catch (const loom::Error& e) {
      if (!a.has("queries")) throw;
      throw loom::Error(a.str("queries") + ": line " + std::to_string(line + 1) + ": " + e.what());
    }
    std::vector<std::pair<std::string, float>> found;
    if (idx) {
      found = index_similar(*idx, v, q, topn, a.integer("ef", 64));
    } else {
      const auto exact = search.search(q.unit.data(), 1, topn, {q.exclude}, pool);
      for (const auto& n : exact[0]) found.emplace_back(v.word(n.row), n.score);
    }
    if (a.has("queries")) {
      std::string label;
      for (const auto& w : words) label += (label.empty() ? "" : " ") + w;
      std::printf(a.json() ? "{\"query\": %s, \"neighbours\": " : "# %s\n",
                  a.json() ? loom::cli::json_quote(label).c_str() : label.c_str());
    }
    print_neighbours(found, a.json(), a.has("queries") ? "]}\n" : "]\n");
  }
  return 0;
}

int run_analogy(const Args& a) {
  if (a.positional().size() != 3) throw UsageError{"give three words A B C (A is to B as C is to ?)"};
  wv::Vectors v = load(a);
  loom::ThreadPool pool(a.threads());
  const auto& p = a.positional();
  print_neighbours(wv::most_similar(v, {p[1], p[2]}, {p[0]}, a.integer("topn", 5),
                                    a.integer("restrict", 0), pool),
                   a.json());
  return 0;
}

const loom::cli::Flag kVectorsFlag{"vectors", "FILE", "word vectors (word2vec text/binary or GloVe)", ""};
const loom::cli::Flag kFormatFlag{"format", "F", "text, binary or glove", "from the file"};

}  // namespace

LOOM_COMMAND("wordvec train", "train word2vec vectors (skip-gram or CBOW) on a text corpus",
             {{"corpus", "FILE", "UTF-8 text, one sentence per line, words split on whitespace", ""},
              {"out", "FILE", "vectors to write (atomically)", ""},
              {"format", "F", "text, binary or glove", "binary for .bin, else text"},
              {"arch", "A", "skipgram or cbow", "skipgram"},
              {"dim", "N", "vector size", "100"},
              {"window", "N", "max distance to a context word", "5"},
              {"negative", "N", "negative samples per example (0 = off)", "5"},
              {"hs", "", "hierarchical softmax (Huffman tree)", ""},
              {"sample", "X", "subsampling threshold for frequent words (0 = off)", "1e-3"},
              {"min-count", "N", "drop words seen fewer times", "5"},
              {"max-vocab", "N", "keep only the N most frequent words (0 = all)", "0"},
              {"epochs", "N", "passes over the corpus", "5"},
              {"alpha", "X", "initial learning rate", "0.025"},
              {"min-alpha", "X", "final learning rate (linear decay)", "0.0001"},
              {"seed", "N", "random seed", "1"},
              {"deterministic", "",
               "bit-identical vectors for a seed at any --threads (slower than Hogwild)", ""}},
             run_train,
             "Settings and conventions follow gensim's Word2Vec (sample, min_count, alpha, "
             "min_alpha defaults).");

LOOM_COMMAND("wordvec eval",
             "analogy accuracy and word-pair correlations with gensim's conventions",
             {kVectorsFlag,
              kFormatFlag,
              {"analogies", "FILE", "questions-words.txt style file", ""},
              {"pairs", "FILE", "word-pair similarity file (WordSim-353, SimLex-999, ...)", ""},
              {"delimiter", "C", "pairs field separator: a character, 'tab' or 'space'", "tab"},
              {"columns", "W1,W2,S", "pairs fields of the two words and the score", "0,1,2"},
              {"restrict", "N", "only the N most frequent words count", "300000"},
              {"case-sensitive", "", "compare words as written (default: upper-cased)", ""},
              {"dummy4unknown", "", "count OOV questions as wrong / OOV pairs as 0", ""}},
             run_eval);

LOOM_COMMAND("wordvec similar", "nearest words by cosine (exact scan or HNSW): loom wordvec similar WORD...",
             {kVectorsFlag,
              kFormatFlag,
              {"negative", "WORD", "subtract this word's vector", ""},
              {"topn", "N", "neighbours to print", "10"},
              {"restrict", "N", "search only the N most frequent words (0 = all)", "0"},
              {"queries", "FILE", "one query a line (its words added), instead of WORD...", ""},
              {"index", "KIND", "flat (an exact scan) or hnsw (loom::index's graph, cosine)", "flat"},
              {"m", "N", "hnsw: links per node", "16"},
              {"ef-construction", "N", "hnsw: beam width while building", "200"},
              {"ef", "N", "hnsw: beam width while searching (raised to topn + query words)", "64"}},
             run_similar,
             "With --queries, each query's neighbours follow a '# words' line (--json: one object "
             "a line).");

LOOM_COMMAND("wordvec analogy", "A is to B as C is to ? (3CosAdd): loom wordvec analogy A B C",
             {kVectorsFlag,
              kFormatFlag,
              {"topn", "N", "answers to print", "5"},
              {"restrict", "N", "search only the N most frequent words (0 = all)", "0"}},
             run_analogy);
