// `loom wordvec glove`: GloVe training (vocabulary, co-occurrence counts, AdaGrad) on a text
// corpus. Parsing and printing only; the algorithms live in src/wordvec (cooccur, glove).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/progress.h"
#include "core/threads.h"
#include "wordvec/cooccur.h"
#include "wordvec/glove.h"
#include "wordvec/vectors.h"

namespace {

using loom::cli::Args;
namespace wv = loom::wordvec;

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

long peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;  // KiB on Linux
}

wv::GloveOptions glove_options(const Args& a) {
  wv::GloveOptions o;
  o.dim = a.integer("dim", 100);
  o.x_max = a.number("x-max", 100.0);
  o.alpha = a.number("alpha", 0.75);
  o.eta = a.number("eta", 0.05);
  o.epochs = a.integer("epochs", 15);
  o.seed = static_cast<uint64_t>(a.integer("seed", 1));
  o.deterministic = a.flag("deterministic");
  o.word_only = a.flag("word-only");
  wv::check_options(o);
  return o;
}

wv::CooccurOptions cooccur_options(const Args& a) {
  wv::CooccurOptions o;
  o.window = a.integer("window", 15);
  o.symmetric = !a.flag("left-only");
  o.memory_mb = a.number("memory-mb", 1024);
  o.temp_dir = a.str("temp-dir");
  wv::check_options(o);
  return o;
}

struct Timings {
  double vocab = 0, cooccur = 0, total = 0, cpu = 0;
};

void print_summary(const Args& a, const wv::Vocab& vocab, const wv::CooccurStats& cs,
                   const wv::GloveStats& st, const Timings& t, int threads) {
  std::string costs;
  for (size_t e = 0; e < st.epoch_cost.size(); ++e) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.6f", e ? (a.json() ? ", " : " ") : "", st.epoch_cost[e]);
    costs += buf;
  }
  const std::string out = a.str("out");
  if (a.json()) {
    std::printf(
        "{\"vocab\": %lld, \"corpus_words\": %lld, \"pairs\": %lld, \"runs_spilled\": %lld, "
        "\"vocab_seconds\": %.3f, \"cooccur_seconds\": %.3f, \"train_seconds\": %.3f, "
        "\"total_seconds\": %.3f, \"cpu_seconds\": %.3f, \"peak_rss_mb\": %ld, "
        "\"epoch_cost\": [%s], \"out\": %s}\n",
        static_cast<long long>(vocab.size()), static_cast<long long>(vocab.corpus_words),
        static_cast<long long>(cs.pairs), static_cast<long long>(cs.runs_spilled), t.vocab,
        t.cooccur, st.seconds, t.total, t.cpu, peak_rss_mb(), costs.c_str(),
        loom::cli::json_quote(out).c_str());
    return;
  }
  std::printf(
      "vocab %lld words (%.2f s); %lld co-occurring pairs (%.2f s, %lld runs spilled); "
      "trained %lld epochs in %.2f s, %d threads%s; total %.2f s; wrote %s\n"
      "cost per epoch: %s\n",
      static_cast<long long>(vocab.size()), t.vocab, static_cast<long long>(cs.pairs), t.cooccur,
      static_cast<long long>(cs.runs_spilled), static_cast<long long>(st.epoch_cost.size()),
      st.seconds, threads, a.flag("deterministic") ? ", deterministic" : "", t.total, out.c_str(),
      costs.c_str());
}

std::vector<wv::Cooccurrence> count_pairs(const Args& a, const wv::EncodedCorpus& corpus,
                                          int64_t vocab_size, loom::ThreadPool& pool,
                                          wv::CooccurStats& stats) {
  loom::Progress bar("cooccur", static_cast<int64_t>(corpus.ids.size()), "words",
                     loom::stderr_is_tty());
  auto pairs = wv::count_cooccurrences(corpus, vocab_size, cooccur_options(a), pool, &stats,
                                       [&](int64_t done, int64_t) { bar.update(done); });
  bar.finish();
  return pairs;
}

int run_glove(const Args& a) {
  const std::string corpus_path = a.need("corpus"), out = a.need("out");
  const wv::VectorFormat format =
      a.has("format") ? wv::parse_vector_format(a.str("format")) : wv::guess_vector_format(out, "");
  const wv::GloveOptions o = glove_options(a);
  cooccur_options(a);  // reject bad flags before the long steps
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t cpu0 = std::clock();
  Timings t;
  auto file = loom::MappedFile::open(corpus_path);
  wv::Vocab vocab = wv::build_vocab(
      file->view(), {a.integer("min-count", 5), a.integer("max-vocab", 0)}, corpus_path);
  t.vocab = since(t0);
  loom::ThreadPool pool(a.threads());
  wv::CooccurStats cs;
  std::vector<wv::Cooccurrence> pairs;
  {
    const auto t1 = std::chrono::steady_clock::now();
    pairs = count_pairs(a, wv::encode_corpus(file->view(), vocab), vocab.size(), pool, cs);
    t.cooccur = since(t1);
  }
  wv::Glove model(vocab, o);
  loom::Progress bar("glove", o.epochs * static_cast<int64_t>(pairs.size()), "pairs",
                     loom::stderr_is_tty());
  std::string last;
  wv::GloveStats st = model.train(
      pairs, pool, [&](int64_t done, int64_t) { bar.update(done, last); },
      [&](int64_t e, double cost) {
        last = "epoch " + std::to_string(e + 1) + " cost " + std::to_string(cost);
      });
  bar.finish(last);
  pairs = {};
  wv::save_vectors(out, model.vectors(), format);
  t.total = since(t0);
  t.cpu = double(std::clock() - cpu0) / CLOCKS_PER_SEC;
  print_summary(a, model.vocab(), cs, st, t, pool.size());
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "wordvec glove", "train GloVe vectors (co-occurrence counts + AdaGrad) on a text corpus",
    {{"corpus", "FILE", "UTF-8 text, one sentence per line, words split on whitespace", ""},
     {"out", "FILE", "vectors to write (atomically)", ""},
     {"format", "F", "text, binary or glove (no header)", "binary for .bin, else text"},
     {"dim", "N", "vector size", "100"},
     {"window", "N", "max distance to a context word; a pair at distance d counts 1/d", "15"},
     {"left-only", "", "count left contexts only (glove's cooccur -symmetric 0)", ""},
     {"min-count", "N", "drop words seen fewer times", "5"},
     {"max-vocab", "N", "keep only the N most frequent words (0 = all)", "0"},
     {"memory-mb", "MB", "counting tables, all threads; fuller tables spill sorted runs", "1024"},
     {"temp-dir", "DIR", "where spilled runs go (removed at the end)", "the system's"},
     {"x-max", "X", "weighting f(x) = min(1, (x/x_max)^alpha)", "100"},
     {"alpha", "A", "weighting exponent", "0.75"},
     {"eta", "X", "AdaGrad initial learning rate", "0.05"},
     {"epochs", "N", "passes over the co-occurrence entries (each reshuffled)", "15"},
     {"seed", "N", "random seed (initial vectors and shuffles)", "1"},
     {"word-only", "", "write W alone instead of W + W~", ""},
     {"deterministic", "",
      "bit-identical vectors for a seed at any --threads (slower than Hogwild)", ""}},
    run_glove,
    "Conventions follow Stanford's GloVe (cooccur, glove -model 2): out-of-vocabulary words are "
    "dropped before windowing, symmetric windows, AdaGrad with eta inside the squared gradient.");
