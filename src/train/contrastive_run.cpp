#include "train/contrastive_run.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/error.h"
#include "core/mapped_file.h"
#include "nn/tape.h"
#include "text/model_tokenizer.h"
#include "train/loss_plot.h"

namespace loom::train {

ContrastiveRunOptions::ContrastiveRunOptions() {
  mode.all = true;
  train.batch = 32;
  train.loss.temperature = 0.05f;
  train.schedule.lr = 1e-3f;
  train.schedule.min_lr = 1e-4f;
  train.schedule.warmup = 20;
  train.schedule.decay = nn::Decay::Cosine;
  train.adamw.weight_decay = 0.01f;
  train.adamw.beta2 = 0.999f;
}

ContrastiveRun::ContrastiveRun(const ContrastiveRunOptions& options, ThreadPool& pool,
                               std::function<void(const std::string&)> note)
    : o_(options), pool_(pool), note_(std::move(note)) {
  check_options();
  init_ = models::read_hf_model(o_.init);
  std::vector<std::string> issues;
  PairsOptions po;
  po.skip_bad = o_.skip_bad;
  po.issues = &issues;
  const std::vector<TextPair> pairs = read_pairs(o_.pairs, po);
  for (const std::string& s : issues)
    if (note_) note_("skipped " + s);
  prepare_tokenizer();
  encode_pairs(pairs);
  build_model();
  prepare_folder();
}

ContrastiveRun::~ContrastiveRun() = default;

void ContrastiveRun::check_options() const {
  if (o_.out.empty()) throw Error("contrastive run: no output folder");
  if (o_.mode.new_embeddings)
    throw Error("contrastive run: train mode " + o_.mode.str() + ": expected all or lora");
  if (o_.steps <= 0)
    throw Error("contrastive run: steps " + std::to_string(o_.steps) + ": expected > 0");
}

// The tokenizer is copied into the run folder first, and the texts are encoded from that copy the
// way `loom embed --model DIR` will (tokenizer.json, with the model's special tokens), so training
// and embedding see the same ids.
void ContrastiveRun::prepare_tokenizer() {
  const std::string tok_path =
      text::model_tokenizer(o_.init, o_.tokenizer, {.gguf_vocab = false}).path;
  make_run_folder(o_.out);
  ckpt_ = o_.out + "/checkpoint.loom";
  log_path_ = o_.out + "/log.csv";
  if (!o_.resume && path_exists(ckpt_))
    throw Error(ckpt_ + " exists: resume it or choose another output folder");
  copy_tokenizer(tok_path, *text::load_tokenizer(tok_path), o_.out);
  copy_tokenizer_companions(o_.init, o_.out);
  tok_ = text::load_tokenizer(o_.out + "/tokenizer.json");
  if (tok_->vocab_size() > init_.config.vocab_size)
    throw Error(tok_path + ": " + std::to_string(tok_->vocab_size()) + " tokens but the model " +
                o_.init + " has " + std::to_string(init_.config.vocab_size) + " embedding rows");
  const int64_t ctx = init_.config.context_length;
  max_tokens_ = o_.max_tokens > 0 ? o_.max_tokens : std::min<int64_t>(128, ctx);
  if (max_tokens_ > ctx)
    throw Error("max tokens " + std::to_string(max_tokens_) + ": expected 1.." +
                std::to_string(ctx) + " (the context of " + o_.init + ")");
}

std::vector<int32_t> ContrastiveRun::encode(const std::string& s) {
  std::vector<int32_t> ids;
  tok_->encode_ids(s, true, ids);
  if (static_cast<int64_t>(ids.size()) > max_tokens_) {
    ids.resize(static_cast<size_t>(max_tokens_));
    ++truncated_;
  }
  return ids;
}

void ContrastiveRun::encode_pairs(const std::vector<TextPair>& pairs) {
  data_.reserve(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    TokenPair tp{encode(pairs[i].query), encode(pairs[i].positive),
                 pairs[i].negative.empty() ? std::vector<int32_t>{} : encode(pairs[i].negative)};
    if (tp.q.empty() || tp.p.empty() || (!pairs[i].negative.empty() && tp.n.empty()))
      throw Error(o_.pairs + ": pair " + std::to_string(i + 1) + " encodes to no token");
    with_negative_ += tp.n.empty() ? 0 : 1;
    data_.push_back(std::move(tp));
  }
}

void ContrastiveRun::build_model() {
  const models::DecoderConfig c = init_.config;
  nn::LoraConfig lora;
  if (o_.mode.lora) lora = lora_config(c.arch, o_.lora ? *o_.lora : LoraOptions{});
  o_.train.schedule.total_steps = o_.steps;
  model_ = std::make_unique<models::CausalLm>(c, lora);
  models::load_hf_weights(*model_, init_.tensors);
  model_->init_lora(o_.train.seed);
  model_->exclude_norms_and_biases_from_decay();
  trainable_ = apply_train_mode(*model_, o_.mode, -1);
  trainer_ = std::make_unique<ContrastiveTrainer>(*model_, data_, o_.train, pool_);
}

// What the run trains, kept beside the checkpoint: --resume must train the same objective.
std::string ContrastiveRun::record() const {
  const ContrastiveConfig& tc = o_.train;
  std::string r = "objective contrastive\ntrain " + o_.mode.str() + "\npooling " +
                  loom::pooling_name(tc.pooling) + "\ntemperature " +
                  std::to_string(tc.loss.temperature) + "\nsymmetric " +
                  (tc.loss.symmetric ? "1" : "0") + "\nmatryoshka";
  for (int64_t d : tc.matryoshka.empty() ? std::vector<int64_t>{d_model()} : tc.matryoshka)
    r += " " + std::to_string(d);
  r += "\nmax_tokens " + std::to_string(max_tokens_);
  r += "\nlora_rank " + std::to_string(model_->lora().rank);
  r += "\nlora_targets";
  for (const std::string& t : model_->lora().targets) r += " " + t;
  return r + "\n";
}

void ContrastiveRun::prepare_folder() {
  const std::string record_path = o_.out + "/train_mode.txt";
  const std::string rec = record();
  std::string kept = "step,loss,lr,grad_norm,pairs_per_s,val_loss\n";
  if (o_.resume) {
    check_run_record(
        record_path, rec,
        "--pooling, --temperature, --symmetric, --matryoshka, --max-tokens, --train, --lora-*",
        false);
    trainer_->load_checkpoint(ckpt_);
    const std::string logged = log_through_step(log_path_, trainer_->steps_done());
    for (size_t pos = 0; pos < logged.size();) {  // the header is written anew
      const size_t end = logged.find('\n', pos) + 1;
      if (logged.compare(pos, 4, "step") != 0) kept.append(logged, pos, end - pos);
      pos = end;
    }
  }
  write_file_atomic(record_path, rec);
  write_file_atomic(log_path_, kept);
  log_.open(log_path_, std::ios::app);
  if (!log_) throw Error(log_path_ + ": cannot open for writing");
}

void ContrastiveRun::save() {
  trainer_->save_checkpoint(ckpt_);
  models::save_hf_model(*model_, o_.out, init_.config_json);
  if (o_.on_save) o_.on_save(o_.out);
  log_.flush();
  write_loss_plot(log_path_, o_.out + "/loss.png");
}

ContrastiveRunResult ContrastiveRun::train(
    const std::function<void(const ContrastiveStepReport&)>& on_step) {
  ContrastiveRunResult r;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t stop_at = o_.stop_at > 0 ? std::min(o_.steps, o_.stop_at) : o_.steps;
  while (trainer_->steps_done() < stop_at) {
    const auto ts = std::chrono::steady_clock::now();
    ContrastiveStepReport s;
    s.stats = trainer_->step();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
    s.pairs_per_s = static_cast<double>(o_.train.batch) / secs;
    if (std::isnan(r.loss_first)) r.loss_first = s.stats.loss;
    r.loss = s.stats.loss;
    char line[160];
    std::snprintf(line, sizeof line, "%lld,%.5f,%.3g,%.4f,%.1f,",
                  static_cast<long long>(s.stats.step), s.stats.loss, s.stats.lr, s.stats.grad_norm,
                  s.pairs_per_s);
    log_ << line << "\n" << std::flush;
    if (on_step) on_step(s);
    if (s.stats.step % o_.save_every == 0 && s.stats.step != stop_at) save();
  }
  save();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.steps = trainer_->steps_done();
  r.pairs = pairs();
  r.with_negative = with_negative_;
  r.truncated = truncated_;
  r.trainable = trainable_;
  r.model_dir = o_.out;
  r.log = log_path_;
  return r;
}

std::vector<std::vector<float>> ContrastiveRun::embed(const std::vector<std::string>& texts) {
  std::vector<std::vector<float>> out;
  nn::Tape tape(pool_);
  tape.set_grad_enabled(false);
  const int64_t d = d_model();
  for (const std::string& s : texts) {
    std::vector<int32_t> ids = encode(s);
    tape.reset();
    nn::Var v = trainer_->embed(tape, {&ids});
    out.emplace_back(tape.data(v), tape.data(v) + d);
  }
  return out;
}

}  // namespace loom::train
