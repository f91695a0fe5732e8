#include "train/seq2seq_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"
#include "io/tensor_map.h"
#include "train/heatmap.h"
#include "train/loss_plot.h"
#include "train/run_folder.h"
#include "train/seq2seq_decode.h"

namespace loom::train {

namespace {

// Padded batch-first tensors of examples [begin, end) of `order` (indices into ex).
struct Batch {
  std::vector<int32_t> src, lens, tin, tout;
  int64_t batch = 0, src_len = 0, tgt_len = 0;
};

Batch make_batch(const Seq2SeqBundle& b, const std::vector<DateExample>& ex,
                 const std::vector<size_t>& order, size_t begin, size_t end) {
  Batch r;
  std::vector<std::vector<int32_t>> srcs, tgts;
  for (size_t i = begin; i < end; ++i) {
    const DateExample& e = ex[order[i % order.size()]];
    srcs.push_back(b.src.encode(e.source, b.unk));
    tgts.push_back(b.tgt.encode(e.target));
    r.src_len = std::max<int64_t>(r.src_len, static_cast<int64_t>(srcs.back().size()));
    r.tgt_len = std::max<int64_t>(r.tgt_len, static_cast<int64_t>(tgts.back().size()) + 1);
  }
  r.batch = static_cast<int64_t>(srcs.size());
  r.src.assign(static_cast<size_t>(r.batch * r.src_len), 0);
  r.tin.assign(static_cast<size_t>(r.batch * r.tgt_len), b.eos);
  r.tout.assign(static_cast<size_t>(r.batch * r.tgt_len), -100);
  for (size_t k = 0; k < srcs.size(); ++k) {
    const auto row = static_cast<int64_t>(k);
    std::copy(srcs[k].begin(), srcs[k].end(), r.src.begin() + row * r.src_len);
    r.lens.push_back(static_cast<int32_t>(srcs[k].size()));
    const std::vector<int32_t>& y = tgts[k];
    for (size_t j = 0; j <= y.size(); ++j) {  // in: BOS y1 .. yn; out: y1 .. yn EOS
      const auto at = static_cast<size_t>(row * r.tgt_len) + j;
      r.tin[at] = j == 0 ? b.bos : y[j - 1];
      r.tout[at] = j < y.size() ? y[j] : b.eos;
    }
  }
  return r;
}

std::vector<size_t> identity(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

constexpr size_t kEvalBatch = 256;

// Mean teacher-forced loss over examples (no dropout), weighted by predicted tokens.
float eval_loss(const Seq2SeqBundle& b, nn::Tape& t, const std::vector<DateExample>& ex) {
  const std::vector<size_t> order = identity(ex.size());
  double sum = 0, tokens = 0;
  for (size_t i = 0; i < ex.size(); i += kEvalBatch) {
    const Batch bt = make_batch(b, ex, order, i, std::min(ex.size(), i + kEvalBatch));
    t.reset();
    const nn::Var l = b.model->loss(t, bt.src.data(), bt.lens.data(), bt.batch, bt.src_len,
                                    bt.tin.data(), bt.tout.data(), bt.tgt_len, false, 0);
    const auto n = static_cast<double>(
        std::count_if(bt.tout.begin(), bt.tout.end(), [](int32_t v) { return v != -100; }));
    sum += static_cast<double>(t.data(l)[0]) * n;
    tokens += n;
  }
  return tokens > 0 ? static_cast<float>(sum / tokens) : NAN;
}

std::string config_json(const Seq2SeqBundle& b) {
  const models::Seq2SeqConfig& c = b.model->config();
  nlohmann::ordered_json j;
  j["architectures"] = {"Seq2SeqBahdanau"};
  j["cell"] = nn::cell_name(c.kind);
  j["src_vocab"] = c.src_vocab, j["tgt_vocab"] = c.tgt_vocab;
  j["emb_size"] = c.emb_size, j["hidden_size"] = c.hidden_size;
  j["encoder_layers"] = c.encoder_layers, j["bidirectional"] = c.bidirectional;
  j["dropout"] = c.dropout;
  j["bos_token_id"] = b.bos, j["eos_token_id"] = b.eos, j["unk_token_id"] = b.unk;
  j["max_len"] = b.max_len;
  j["task"] = {{"name", "dates"},
               {"seed", b.task.seed},
               {"train", b.task.n_train},
               {"valid", b.task.n_valid},
               {"test", b.task.n_test}};
  return j.dump(2) + "\n";
}

void save_bundle(const Seq2SeqBundle& b, const std::string& dir) {
  io::TensorMap map(dir + "/model.safetensors", "safetensors");
  for (const auto& p : b.model->params().params()) {
    Tensor t = Tensor::empty(p->shape);
    std::memcpy(t.f32(), p->value.f32(), static_cast<size_t>(p->numel()) * sizeof(float));
    map.add(p->name, std::move(t));
  }
  io::write_safetensors(dir + "/model.safetensors", map);
  write_file_atomic(dir + "/config.json", config_json(b));
  write_file_atomic(dir + "/src_vocab.txt", b.src.text());
  write_file_atomic(dir + "/tgt_vocab.txt", b.tgt.text());
}

}  // namespace

namespace {

// A config.json field, or a loom::Error naming the file and the field.
template <typename T>
T field(const nlohmann::json& j, const std::string& key, const std::string& path) {
  if (!j.contains(key)) throw Error(path + ": field \"" + key + "\" is missing");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(path + ": field \"" + key + "\" has the wrong type (" + j.at(key).dump() + ")");
  }
}

// A size field in [1, max].
int64_t bounded(const nlohmann::json& j, const std::string& key, const std::string& path,
                int64_t max) {
  const auto v = field<int64_t>(j, key, path);
  if (v < 1 || v > max)
    throw Error(path + ": field \"" + key + "\" is " + std::to_string(v) + ", expected 1.." +
                std::to_string(max));
  return v;
}

models::Seq2SeqConfig read_model_config(const nlohmann::json& j, const std::string& path) {
  models::Seq2SeqConfig c;
  c.kind = models::cell_kind_from_name(field<std::string>(j, "cell", path));
  c.src_vocab = bounded(j, "src_vocab", path, 1 << 16);
  c.tgt_vocab = bounded(j, "tgt_vocab", path, 1 << 16);
  c.emb_size = bounded(j, "emb_size", path, 1 << 14);
  c.hidden_size = bounded(j, "hidden_size", path, 1 << 14);
  c.encoder_layers = bounded(j, "encoder_layers", path, 64);
  c.bidirectional = field<bool>(j, "bidirectional", path);
  c.dropout = field<float>(j, "dropout", path);
  models::validate(c);
  return c;
}

}  // namespace

Seq2SeqFolderConfig parse_seq2seq_config(const std::string& text, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path + ": not JSON at byte " + std::to_string(e.byte) + ": expected an object");
  }
  if (!j.is_object()) throw Error(path + ": expected a JSON object");
  Seq2SeqFolderConfig f;
  f.model = read_model_config(j, path);
  f.bos = field<int32_t>(j, "bos_token_id", path);
  f.eos = field<int32_t>(j, "eos_token_id", path);
  f.unk = field<int32_t>(j, "unk_token_id", path);
  f.max_len = bounded(j, "max_len", path, 4096);
  const int64_t vt = f.model.tgt_vocab;
  if (f.bos < 0 || f.bos >= vt || f.eos < 0 || f.eos >= vt || f.unk < 0 ||
      f.unk >= f.model.src_vocab)
    throw Error(path + ": bos_token_id, eos_token_id or unk_token_id outside the vocabularies");
  const auto task = field<nlohmann::json>(j, "task", path);
  if (!task.is_object()) throw Error(path + ": field \"task\": expected an object");
  f.task.seed = field<uint64_t>(task, "seed", path + " task");
  f.task.n_train = bounded(task, "train", path + " task", 36525);
  f.task.n_valid = bounded(task, "valid", path + " task", 36525);
  f.task.n_test = bounded(task, "test", path + " task", 36525);
  return f;
}

Seq2SeqBundle load_seq2seq_dir(const std::string& dir) {
  const std::string path = dir + "/config.json";
  const Seq2SeqFolderConfig f = parse_seq2seq_config(read_file(path), path);
  Seq2SeqBundle b;
  b.src = CharVocab::parse(read_file(dir + "/src_vocab.txt"), dir + "/src_vocab.txt");
  b.tgt = CharVocab::parse(read_file(dir + "/tgt_vocab.txt"), dir + "/tgt_vocab.txt");
  const models::Seq2SeqConfig& c = f.model;
  if (c.src_vocab != b.src.size() || c.tgt_vocab != b.tgt.size())
    throw Error(path + ": src_vocab " + std::to_string(c.src_vocab) + " and tgt_vocab " +
                std::to_string(c.tgt_vocab) + " but the vocabulary files hold " +
                std::to_string(b.src.size()) + " and " + std::to_string(b.tgt.size()));
  b.bos = f.bos, b.eos = f.eos, b.unk = f.unk, b.max_len = f.max_len, b.task = f.task;
  b.model = std::make_unique<models::Seq2Seq>(c);
  b.model->load(io::read_safetensors(dir + "/model.safetensors"));
  return b;
}

models::Seq2SeqOutput Seq2SeqBundle::translate(ThreadPool& pool, const std::string& text,
                                               const generate::BeamSearchOptions& options) const {
  const std::vector<int32_t> ids = src.encode(text, unk);
  if (ids.empty()) throw Error("translate: the text is empty");
  if (options.num_beams <= 1) {
    const auto len = static_cast<int32_t>(ids.size());
    return model->greedy(pool, ids.data(), &len, 1, len, bos, eos, max_len)[0];
  }
  generate::BeamSearchOptions o = options;
  o.max_new_tokens = max_len;
  o.num_return_sequences = 1;
  return seq2seq_beam_search(*model, pool, ids.data(), static_cast<int64_t>(ids.size()), bos, eos,
                             o)[0];
}

Seq2SeqAccuracy Seq2SeqBundle::accuracy(ThreadPool& pool, const std::vector<DateExample>& ex,
                                        const generate::BeamSearchOptions& options) const {
  Seq2SeqAccuracy a;
  a.examples = static_cast<int64_t>(ex.size());
  const std::vector<size_t> order = identity(ex.size());
  for (size_t i = 0; i < ex.size(); i += kEvalBatch) {
    const Batch bt = make_batch(*this, ex, order, i, std::min(ex.size(), i + kEvalBatch));
    const auto out =
        model->greedy(pool, bt.src.data(), bt.lens.data(), bt.batch, bt.src_len, bos, eos, max_len);
    for (size_t k = 0; k < out.size(); ++k)
      a.greedy_exact += out[k].finished && tgt.decode(out[k].tokens) == ex[i + k].target;
  }
  for (const DateExample& e : ex) {
    if (options.num_beams <= 1) break;
    const models::Seq2SeqOutput o = translate(pool, e.source, options);
    a.beam_exact += o.finished && tgt.decode(o.tokens) == e.target;
  }
  if (options.num_beams <= 1) a.beam_exact = a.greedy_exact;
  return a;
}

void write_attention_png(const Seq2SeqBundle& b, const std::string& text,
                         const models::Seq2SeqOutput& out, const std::string& png_path) {
  std::vector<std::string> rows, cols;
  for (int32_t id : out.tokens) rows.push_back(b.tgt.label(id));
  if (out.finished) rows.push_back(b.tgt.label(b.eos));
  for (char c : text) cols.push_back(std::string(1, c));
  write_file_atomic(png_path, attention_heatmap_png(out.attention, rows, cols));
}

namespace {

// One run's state: data, model, optimiser, log.
class DatesRun {
 public:
  DatesRun(Seq2SeqRunOptions& o, ThreadPool& pool)
      : o_(o),
        pool_(pool),
        data_(make_date_splits(o.task.seed, o.task.n_train, o.task.n_valid, o.task.n_test)),
        tape_(pool) {
    for (const DateExample& e : data_.train) b_.src.add(e.source), b_.tgt.add(e.target);
    o_.model.src_vocab = b_.src.size(), o_.model.tgt_vocab = b_.tgt.size();
    b_.task = o.task;
    b_.model = std::make_unique<models::Seq2Seq>(o_.model);
    b_.model->init(o.task.seed);
    opt_ = std::make_unique<nn::AdamW>(b_.model->params(), o.adamw);
    o_.schedule.total_steps = o.steps;
    order_ = identity(data_.train.size());
    make_run_folder(o.out);
    log_path_ = o.out + "/log.csv";
    write_file_atomic(log_path_, "step,loss,lr,grad_norm,examples_per_s,val_loss\n");
    log_.open(log_path_, std::ios::app);
    if (!log_) throw Error(log_path_ + ": cannot open for writing");
  }

  float validate() { return eval_loss(b_, tape_, data_.valid); }

  // Step s (0-based): the next batch of an epoch's shuffled order.
  StepStats step(int64_t s) {
    const size_t n = order_.size(), begin = static_cast<size_t>(s * o_.batch) % n;
    if (begin < static_cast<size_t>(o_.batch)) shuffle(static_cast<uint64_t>(s));
    const Batch bt = make_batch(b_, data_.train, order_, begin, begin + o_.batch);
    tape_.reset();
    b_.model->params().zero_grad();
    const nn::Var l = b_.model->loss(tape_, bt.src.data(), bt.lens.data(), bt.batch, bt.src_len,
                                     bt.tin.data(), bt.tout.data(), bt.tgt_len, true,
                                     (o_.task.seed << 24) + static_cast<uint64_t>(s) * 64);
    tape_.backward(l);
    return finish_step(b_.model->params(), *opt_, o_.schedule, o_.clip, pool_, s, tape_.data(l)[0]);
  }

  void log(const StepStats& st, double examples_per_s, float val, bool with_val) {
    log_ << st.step << ',' << st.loss << ',' << st.lr << ',' << st.grad_norm << ','
         << examples_per_s << ',';
    if (with_val) log_ << val;
    log_ << '\n';
  }

  void finish(Seq2SeqRunResult& r) {
    log_.close();
    save_bundle(b_, o_.out);
    write_loss_plot(log_path_, o_.out + "/loss.png");
    o_.beam.max_new_tokens = b_.max_len;
    r.test = b_.accuracy(pool_, data_.test, o_.beam);
    if (!data_.test.empty()) {
      const std::string& text = data_.test[0].source;
      write_attention_png(b_, text, b_.translate(pool_, text, o_.beam), o_.out + "/attention.png");
    }
    r.params = b_.model->params().count();
    r.src_vocab = b_.src.size(), r.tgt_vocab = b_.tgt.size();
  }

  void log_initial(float val) { log_ << "0,,,,," << val << '\n'; }

 private:
  void shuffle(uint64_t salt) {
    Rng rng(o_.task.seed * 7919 + salt);
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng.below(i)]);
  }
  Seq2SeqRunOptions& o_;
  ThreadPool& pool_;
  DateSplits data_;
  Seq2SeqBundle b_;
  nn::Tape tape_;
  std::unique_ptr<nn::AdamW> opt_;
  std::vector<size_t> order_;
  std::string log_path_;
  std::ofstream log_;
};

void check_options(const Seq2SeqRunOptions& o) {
  if (o.out.empty()) throw Error("seq2seq run: no output folder");
  if (o.steps < 1 || o.batch < 1 || o.eval_every < 0)
    throw Error("seq2seq run: steps " + std::to_string(o.steps) + ", batch " +
                std::to_string(o.batch) + ", eval_every " + std::to_string(o.eval_every) +
                ": expected >= 1, >= 1, >= 0");
  if (o.task.n_train < 1 || o.task.n_valid < 1 || o.task.n_test < 1)
    throw Error("seq2seq run: the train, valid and test splits need >= 1 example each");
}

}  // namespace

Seq2SeqRunResult run_seq2seq_dates(Seq2SeqRunOptions o, ThreadPool& pool,
                                   const Seq2SeqStepFn& on_step) {
  const auto t0 = std::chrono::steady_clock::now();
  check_options(o);
  DatesRun run(o, pool);
  Seq2SeqRunResult r;
  r.val_loss_before = run.validate();
  run.log_initial(r.val_loss_before);
  float val = r.val_loss_before;
  double window = 0;
  int64_t window_steps = 0;
  for (int64_t s = 0; s < o.steps; ++s) {
    const auto ts = std::chrono::steady_clock::now();
    const StepStats st = run.step(s);
    const bool eval = (o.eval_every > 0 && st.step % o.eval_every == 0) || st.step == o.steps;
    if (eval) val = run.validate();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
    run.log(st, static_cast<double>(o.batch) / std::max(secs, 1e-9), val, eval);
    window += st.loss, ++window_steps;
    r.loss = static_cast<float>(window / static_cast<double>(window_steps));
    if (eval) window = 0, window_steps = 0;
    if (on_step) on_step(st, val);
  }
  r.steps = o.steps;
  r.val_loss = val;
  run.finish(r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace loom::train
