#include "wordvec/word2vec.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/threads.h"
#include "wordvec/overlay.h"
#include "wordvec/sgd.h"

namespace loom::wordvec {

namespace {

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using Matrix = std::unique_ptr<float[], FreeDeleter>;

Matrix zeros(int64_t rows, int64_t stride) {
  size_t bytes = static_cast<size_t>(std::max<int64_t>(rows, 1) * stride) * sizeof(float);
  auto* p = static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
  if (p == nullptr) throw Error("word2vec: out of memory for " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, bytes);
  return Matrix(p);
}

// A contiguous run of sentences trained with one random stream.
struct Job {
  int64_t sentence_begin = 0, sentence_end = 0;
};

std::vector<Job> make_jobs(const EncodedCorpus& c, int64_t job_words) {
  std::vector<Job> jobs;
  Job j;
  for (int64_t s = 0; s < c.sentences(); ++s) {
    if (c.starts[s + 1] - c.starts[j.sentence_begin] >= job_words || s + 1 == c.sentences()) {
      j.sentence_end = s + 1;
      jobs.push_back(j);
      j.sentence_begin = s + 1;
    }
  }
  return jobs;
}

uint64_t job_seed(uint64_t seed, int64_t epoch, int64_t job) {
  return seed * 0x9e3779b97f4a7c15ull ^ (static_cast<uint64_t>(epoch) << 40) ^
         static_cast<uint64_t>(job);
}

struct HogwildRows {
  float *syn0, *syn1neg, *syn1;
  int64_t stride;
  float* in(int32_t w) { return syn0 + w * stride; }
  float* neg(int32_t w) { return syn1neg + w * stride; }
  float* hs(int32_t n) { return syn1 + n * stride; }
};

}  // namespace

void check_options(const Word2VecOptions& o) {
  auto bad = [](const std::string& what) { throw Error("word2vec options: " + what); };
  if (o.dim < 1 || o.dim > 100000) bad("dim must be 1..100000");
  if (o.window < 1 || o.window > 1000) bad("window must be 1..1000");
  if (o.negative < 0 || o.negative > 1000) bad("negative must be 0..1000");
  if (o.negative == 0 && !o.hierarchical_softmax) {
    bad("need negative sampling (negative > 0) or hierarchical softmax");
  }
  if (!(o.alpha > 0) || !(o.min_alpha >= 0) || o.min_alpha > o.alpha) {
    bad("need alpha > 0 and 0 <= min_alpha <= alpha");
  }
  if (!(o.sample >= 0)) bad("sample must be >= 0");
  if (o.epochs < 1) bad("epochs must be >= 1");
  if (o.job_words < 1) bad("job_words must be >= 1");
}

struct Word2Vec::State {
  Vocab vocab;
  Word2VecOptions opt;
  int64_t stride = 0;
  Matrix syn0, syn1neg, syn1;
  std::vector<uint64_t> keep;
  AliasTable noise;
  HuffmanTree tree;
  sgd::Sigmoid sigmoid;
  sgd::Context ctx;

  void init();
  template <class Rows>
  void run_job(Rows& rows, const EncodedCorpus& c, const Job& job, int64_t index, int64_t epoch,
               sgd::Scratch& scratch) const;
  void epoch_hogwild(const EncodedCorpus& c, const std::vector<Job>& jobs, int64_t epoch,
                     ThreadPool& pool, const ProgressFn& progress);
  void epoch_deterministic(const EncodedCorpus& c, const std::vector<Job>& jobs, int64_t epoch,
                           ThreadPool& pool, const ProgressFn& progress);
};

void Word2Vec::State::init() {
  const int64_t v = vocab.size();
  stride = (opt.dim + sgd::kLanes - 1) / sgd::kLanes * sgd::kLanes;
  syn0 = zeros(v, stride);
  Rng rng(opt.seed);
  for (int64_t w = 0; w < v; ++w)
    for (int64_t k = 0; k < opt.dim; ++k)
      syn0[w * stride + k] = (2.0f * rng.uniform() - 1.0f) / static_cast<float>(opt.dim);
  if (opt.negative > 0) {
    syn1neg = zeros(v, stride);
    noise = AliasTable(vocab.counts, opt.ns_exponent);
  }
  if (opt.hierarchical_softmax) {
    syn1 = zeros(std::max<int64_t>(v - 1, 1), stride);
    tree = build_huffman(vocab.counts);
  }
  // gensim's rule: keep a word with probability (sqrt(n / t) + 1) * t / n, t = sample * total.
  keep.assign(static_cast<size_t>(v), uint64_t{1} << 32);
  const double t = opt.sample * static_cast<double>(vocab.kept_words);
  for (int64_t w = 0; w < v && opt.sample > 0; ++w) {
    const double n = static_cast<double>(vocab.counts[w]);
    const double p = (std::sqrt(n / t) + 1.0) * t / n;
    if (p < 1.0) keep[w] = static_cast<uint64_t>(std::llround(p * 4294967296.0));
  }
  ctx = sgd::Context{stride,         opt.window,         opt.negative, opt.hierarchical_softmax,
                     opt.skip_gram,  opt.cbow_mean,      keep.data(),  &noise,
                     &tree,          &sigmoid};
}

template <class Rows>
void Word2Vec::State::run_job(Rows& rows, const EncodedCorpus& c, const Job& job, int64_t index,
                              int64_t epoch, sgd::Scratch& scratch) const {
  Rng rng(job_seed(opt.seed, epoch, index));
  const double total = static_cast<double>(c.ids.size()) * static_cast<double>(opt.epochs);
  for (int64_t s = job.sentence_begin; s < job.sentence_end; ++s) {
    const double done = static_cast<double>(epoch) * static_cast<double>(c.ids.size()) +
                        static_cast<double>(c.starts[s]);
    const double a = opt.alpha - (opt.alpha - opt.min_alpha) * (done / total);
    const float alpha = static_cast<float>(std::max(a, opt.min_alpha));
    sgd::train_sentence(ctx, rows, c.ids.data() + c.starts[s], c.starts[s + 1] - c.starts[s],
                        alpha, rng, scratch);
  }
}

void Word2Vec::State::epoch_hogwild(const EncodedCorpus& c, const std::vector<Job>& jobs,
                                    int64_t epoch, ThreadPool& pool, const ProgressFn& progress) {
  std::atomic<int64_t> next{0}, done{0};
  const int64_t n_jobs = static_cast<int64_t>(jobs.size());
  pool.parallel_for(pool.size(), 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      HogwildRows rows{syn0.get(), syn1neg.get(), syn1.get(), stride};
      sgd::Scratch scratch;
      scratch.resize(stride);
      for (int64_t j; (j = next.fetch_add(1)) < n_jobs;) {
        run_job(rows, c, jobs[j], j, epoch, scratch);
        const Job& jb = jobs[j];
        int64_t d = done.fetch_add(c.starts[jb.sentence_end] - c.starts[jb.sentence_begin]);
        if (t == 0 && progress) progress(d, static_cast<int64_t>(c.ids.size()));
      }
    }
  });
}

void Word2Vec::State::epoch_deterministic(const EncodedCorpus& c, const std::vector<Job>& jobs,
                                          int64_t epoch, ThreadPool& pool,
                                          const ProgressFn& progress) {
  const int64_t n_jobs = static_cast<int64_t>(jobs.size());
  std::vector<OverlayRows> overlays;
  overlays.reserve(kDeterministicBlock);
  for (int k = 0; k < kDeterministicBlock; ++k) {
    overlays.emplace_back(vocab.size(), stride, syn0.get(), syn1neg.get(), syn1.get());
  }
  std::vector<sgd::Scratch> scratch(kDeterministicBlock);
  for (auto& s : scratch) s.resize(stride);
  for (int64_t start = 0; start < n_jobs; start += kDeterministicBlock) {
    const int64_t nb = std::min<int64_t>(kDeterministicBlock, n_jobs - start);
    pool.run(nb, [&](int64_t k) {
      run_job(overlays[k], c, jobs[start + k], start + k, epoch, scratch[k]);
      overlays[k].to_deltas();
    });
    for (int64_t k = 0; k < nb; ++k) overlays[k].apply();
    if (progress) {
      progress(c.starts[jobs[start + nb - 1].sentence_end], static_cast<int64_t>(c.ids.size()));
    }
  }
}

Word2Vec::Word2Vec(Vocab vocab, const Word2VecOptions& opt) : s_(std::make_unique<State>()) {
  check_options(opt);
  if (vocab.size() < 1) throw Error("word2vec: the vocabulary is empty");
  s_->vocab = std::move(vocab);
  s_->opt = opt;
  s_->init();
}

Word2Vec::~Word2Vec() = default;
Word2Vec::Word2Vec(Word2Vec&&) noexcept = default;

const Vocab& Word2Vec::vocab() const { return s_->vocab; }

TrainStats Word2Vec::train(std::string_view text, ThreadPool& pool, const ProgressFn& progress) {
  auto t0 = std::chrono::steady_clock::now();
  EncodedCorpus c = encode_corpus(text, s_->vocab);
  TrainStats st = train(c, pool, progress);
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

TrainStats Word2Vec::train(const EncodedCorpus& c, ThreadPool& pool, const ProgressFn& progress) {
  auto t0 = std::chrono::steady_clock::now();
  if (c.ids.empty()) throw Error("word2vec: no corpus word is in the vocabulary");
  std::vector<Job> jobs = make_jobs(
      c, s_->opt.deterministic ? std::min(s_->opt.job_words, kDeterministicJobWords)
                               : s_->opt.job_words);
  for (int64_t e = 0; e < s_->opt.epochs; ++e) {
    ProgressFn p;
    if (progress) {
      const int64_t n = static_cast<int64_t>(c.ids.size());
      p = [&, e, n](int64_t done, int64_t) { progress(e * n + done, s_->opt.epochs * n); };
    }
    if (s_->opt.deterministic) {
      s_->epoch_deterministic(c, jobs, e, pool, p);
    } else {
      s_->epoch_hogwild(c, jobs, e, pool, p);
    }
  }
  TrainStats st;
  st.raw_words = c.raw_words * s_->opt.epochs;
  st.trained_words = static_cast<int64_t>(c.ids.size()) * s_->opt.epochs;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

Vectors Word2Vec::vectors() const {
  Vectors v(s_->opt.dim);
  for (int64_t w = 0; w < s_->vocab.size(); ++w) {
    v.add(s_->vocab.words[w], s_->syn0.get() + w * s_->stride);
  }
  return v;
}

}  // namespace loom::wordvec
