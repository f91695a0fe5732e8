#include "train/run.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <span>

#include "core/error.h"
#include "core/mapped_file.h"
#include "models/peft.h"
#include "text/model_tokenizer.h"
#include "train/loss_plot.h"
#include "train/text_lines.h"
#include "train/token_shard.h"

namespace loom::train {

TokenData text_tokens(const std::string& path, const text::Tokenizer* tok, int64_t heldout_every) {
  const std::string text = read_file(path);
  TokenData d;
  std::vector<int32_t> ids;
  auto encode = [&](std::string_view s, std::vector<int32_t>& dst) {
    if (tok) {
      ids.clear();  // encode_ids appends (Tokenizer) or assigns (SentencePiece adapter)
      tok->encode_ids(s, true, ids);
      dst.insert(dst.end(), ids.begin(), ids.end());
      if (tok->eos_id() >= 0) dst.push_back(tok->eos_id());
    } else {
      for (char ch : s) dst.push_back(static_cast<uint8_t>(ch));
    }
  };
  if (tok) d.vocab = tok->vocab_size();
  if (heldout_every == 0 && !tok) {
    encode(text, d.train);
    d.docs_train = 1;
    return d;
  }
  for_each_line(text, heldout_every, [&](std::string_view line, bool held) {
    if (tok) {
      encode(line, held ? d.val : d.train);
    } else {
      std::string with_nl(line);
      with_nl += '\n';
      encode(with_nl, held ? d.val : d.train);
    }
    ++(held ? d.docs_val : d.docs_train);
  });
  return d;
}

TokenData shard_tokens(const std::string& path, const std::string& val_path) {
  TokenData d;
  TokenShard shard = TokenShard::open(path);
  d.train.resize(static_cast<size_t>(shard.size()));
  shard.read(0, shard.size(), d.train.data());
  d.vocab = shard.vocab_size();
  d.docs_train = shard.documents();
  if (val_path.empty()) return d;
  TokenShard v = TokenShard::open(val_path);
  if (v.vocab_size() != shard.vocab_size())
    throw Error(val_path + ": vocabulary size " + std::to_string(v.vocab_size()) +
                " differs from the training shard's " + std::to_string(shard.vocab_size()));
  d.val.resize(static_cast<size_t>(v.size()));
  v.read(0, v.size(), d.val.data());
  d.docs_val = v.documents();
  return d;
}

void hold_out_tail(TokenData& data, double val_frac) {
  if (!(val_frac >= 0 && val_frac < 0.5))
    throw Error("held-out fraction " + std::to_string(val_frac) + ": expected [0, 0.5)");
  const size_t n_val = static_cast<size_t>(static_cast<double>(data.train.size()) * val_frac);
  data.val.assign(data.train.end() - static_cast<std::ptrdiff_t>(n_val), data.train.end());
  data.train.resize(data.train.size() - n_val);
}

LmRunOptions::LmRunOptions() {
  mode.all = true;
  train.batch = 16;
  train.seq = 128;
  train.schedule.lr = 1e-3f;
  train.schedule.min_lr = 1e-4f;
  train.schedule.warmup = 100;
  train.schedule.decay = nn::Decay::Cosine;
  train.adamw.weight_decay = 0.1f;
  train.adamw.beta2 = 0.95f;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

LmRun::LmRun(const LmRunOptions& options, ThreadPool& pool,
             std::function<void(const std::string&)> note)
    : o_(options), pool_(pool), note_(std::move(note)) {
  check_options();
  if (!o_.init.empty()) init_ = models::read_hf_model(o_.init);
  load_tokenizer();
  load_data();
  build_model();
  prepare_folder();
}

LmRun::~LmRun() = default;

void LmRun::check_options() const {
  const bool text = !o_.text.empty();
  if (text == !o_.shard.empty()) throw Error("training run: give exactly one of text or shard");
  if (o_.heldout_every < 0 || o_.heldout_every == 1)
    throw Error("held out every " + std::to_string(o_.heldout_every) +
                " lines: expected 0 (off) or N >= 2");
  if (!text && o_.heldout_every > 0)
    throw Error("held-out lines split a text; with a shard give a held-out shard");
  if (text && !o_.val_shard.empty()) throw Error("a held-out shard goes with a training shard");
  if (o_.out.empty()) throw Error("training run: no output folder");
}

void LmRun::load_tokenizer() {
  // The named tokenizer, else a file beside the --init model; bytes (vocab 256) from scratch.
  tok_path_ = o_.tokenizer;
  if (tok_path_.empty() && init_ && !o_.text.empty())
    tok_path_ = text::model_tokenizer(o_.init, "", {.gguf_vocab = false}).path;
  if (!tok_path_.empty()) tok_ = text::load_tokenizer(tok_path_);
}

void LmRun::load_data() {
  data_ = o_.text.empty() ? shard_tokens(o_.shard, o_.val_shard)
                          : text_tokens(o_.text, tok_.get(), o_.heldout_every);
  if (o_.heldout_every == 0 && data_.val.empty()) hold_out_tail(data_, o_.val_frac);
}

models::DecoderConfig LmRun::model_config() const {
  models::DecoderConfig c;
  if (init_) {
    c = init_->config;
    if (data_.vocab > c.vocab_size)
      throw Error((tok_ ? tok_path_ : o_.shard) + ": " + std::to_string(data_.vocab) +
                  " token ids but the model " + o_.init + " has " + std::to_string(c.vocab_size) +
                  " embedding rows");
  } else {
    const ModelShape& s = o_.shape;
    c.arch = s.arch;
    c.vocab_size = data_.vocab;
    c.dim = s.d_model;
    c.n_layers = s.n_layers;
    c.n_heads = s.n_heads;
    c.n_kv_heads = s.n_kv_heads > 0 ? s.n_kv_heads : s.n_heads;
    c.hidden_dim = s.d_ff;  // 0: the architecture's default
    c.context_length = o_.seq > 0 ? o_.seq : 128;
  }
  return c;
}

void LmRun::build_model() {
  const models::DecoderConfig c = model_config();
  o_.train.seq = o_.seq > 0 ? o_.seq : init_ ? std::min<int64_t>(128, c.context_length) : 128;
  o_.train.schedule.total_steps = o_.steps;
  if (o_.base_vocab < 0 && init_) o_.base_vocab = init_->config.base_vocab_size;
  if (o_.mode.new_embeddings && o_.base_vocab < 0)
    throw Error("training " + o_.mode.str() +
                " needs the base vocabulary size (config.json \"loom_extension\": "
                "{\"base_vocab_size\": N}, or give it)");
  model_ = make_run_model(c, init_ ? &*init_ : nullptr, o_.mode.lora, o_.lora, o_.train.seed);
  trainable_ = apply_train_mode(*model_, o_.mode, o_.base_vocab);
  if (o_.mode.new_embeddings) rows_before_ = original_rows_sha256(*model_, o_.base_vocab);
  trainer_ = std::make_unique<CausalLmTrainer>(
      *model_, data_.train.data(), static_cast<int64_t>(data_.train.size()), o_.train, pool_);
  // Under `mpirun -np W`, every process trains a replica on its share of each step's
  // micro-batches (gradients all-reduced); only process 0 writes files.
  group_ = ProcessGroup::from_environment();
  if (group_->size() > 1) trainer_->set_process_group(group_.get());
}

void LmRun::prepare_folder() {
  const bool is_root = root();
  if (is_root) ::mkdir(o_.out.c_str(), 0755);
  group_->barrier();
  if (!is_folder(o_.out)) throw Error(o_.out + ": cannot create the output directory");
  ckpt_ = o_.out + "/checkpoint.loom";
  log_path_ = o_.out + "/log.csv";
  std::string record = "train " + o_.mode.str() + "\nbase_vocab " +
                       std::to_string(o_.mode.new_embeddings ? o_.base_vocab : -1) +
                       "\nlora_rank " + std::to_string(model_->lora().rank) + "\nlora_alpha " +
                       std::to_string(model_->lora().alpha) + "\nlora_targets";
  for (const std::string& t : model_->lora().targets) record += " " + t;
  record += "\n";
  const std::string record_path = o_.out + "/train_mode.txt";
  const int64_t n_val = static_cast<int64_t>(data_.val.size());
  if (o_.resume) {
    check_run_record(record_path, record, "--train, --base-vocab, --lora-*", true);
    trainer_->load_checkpoint(ckpt_);
    const std::string kept = log_through_step(log_path_, trainer_->steps_done());
    if (is_root) write_file_atomic(log_path_, kept);
  } else if (path_exists(ckpt_)) {
    throw Error(ckpt_ + " exists: resume it or choose another output folder");
  } else if (n_val > o_.train.seq) {
    val_before_ = trainer_->evaluate(data_.val.data(), n_val, o_.eval_batches, o_.train.seed + 1);
  }
  if (!o_.resume && is_root) write_file_atomic(record_path, record);
  open_log();
  if (!o_.resume && is_root) write_model_folder();
}

void LmRun::open_log() {
  log_.open(root() ? log_path_ : "/dev/null", o_.resume ? std::ios::app : std::ios::trunc);
  if (!log_) throw Error(log_path_ + ": cannot open for writing");
  if (o_.resume) return;
  log_ << "step,loss,lr,grad_norm,tokens_per_s,val_loss\n";
  if (!std::isnan(val_before_)) {
    char b[64];
    std::snprintf(b, sizeof b, "0,,,,,%.4f", val_before_);
    log_ << b << "\n";
  }
}

// The tokenizer files of the model folder (config.json and the weights come with each save).
void LmRun::write_model_folder() {
  if (!tok_path_.empty()) {
    try {
      copy_tokenizer(tok_path_, *tok_, o_.out);
    } catch (const Error& e) {
      if (!path_exists(o_.out + "/" + tokenizer_file_name(tok_path_))) throw;
      if (note_) note_("no tokenizer.json in " + o_.out + " (" + e.what() + ")");
    }
  }
  if (init_) copy_tokenizer_companions(o_.init, o_.out);
}

void LmRun::save() {
  if (!root()) return;
  trainer_->save_checkpoint(ckpt_);
  models::save_hf_model(*model_, o_.out,
                        init_ ? init_->config_json : nlohmann::ordered_json::object());
  save_adapter();
  log_.flush();
  write_loss_plot(log_path_, o_.out + "/loss.png");
}

void LmRun::save_adapter() {
  if (!o_.mode.all) save_run_adapter(*model_, o_.out, o_.base_vocab, o_.init);
}

int64_t LmRun::tokens_to_train() const {
  const int64_t per_step = o_.train.batch * o_.train.seq * o_.train.grad_accum * group_->size();
  return (o_.steps - trainer_->steps_done()) * per_step;
}

LmStepReport LmRun::step(int64_t stop_at) {
  const auto ts = std::chrono::steady_clock::now();
  LmStepReport r;
  r.stats = trainer_->step();
  const double secs = seconds_since(ts);
  const int64_t per_step = o_.train.batch * o_.train.seq * o_.train.grad_accum * group_->size();
  tokens_done_ += per_step;
  const int64_t s = r.stats.step;
  const bool last = s == o_.steps || s == stop_at;
  const int64_t n_val = static_cast<int64_t>(data_.val.size());
  std::string val_s;
  if (n_val > o_.train.seq && (s % o_.eval_every == 0 || last)) {
    val_ = trainer_->evaluate(data_.val.data(), n_val, o_.eval_batches, o_.train.seed + 1);
    r.evaluated = true;
    char b[32];
    std::snprintf(b, sizeof b, "%.4f", val_);
    val_s = b;
  }
  char line[160];
  std::snprintf(line, sizeof line, "%lld,%.5f,%.3g,%.4f,%.1f,%s", static_cast<long long>(s),
                r.stats.loss, r.stats.lr, r.stats.grad_norm, static_cast<double>(per_step) / secs,
                val_s.c_str());
  log_ << line << "\n" << std::flush;
  if (s % o_.save_every == 0 || last) save();
  r.val_loss = val_;
  r.tokens_per_s = static_cast<double>(per_step) / secs;
  r.tokens_done = tokens_done_;
  return r;
}

std::string LmRun::sample_text() const {
  const int64_t n = o_.sample >= 0 ? o_.sample : (o_.text.empty() ? 0 : 200);
  if (o_.text.empty() || n <= 0) return "";
  std::string out;
  if (tok_) {
    std::vector<int32_t> prompt;
    tok_->encode_ids("", true, prompt);
    if (prompt.empty()) prompt.push_back(tok_->bos_id() >= 0 ? tok_->bos_id() : data_.train[0]);
    auto ids = sample_tokens(*model_, pool_, prompt, n, 0.8f, o_.train.seed);
    return tok_->decode(std::span<const int32_t>(ids).subspan(prompt.size()), true);
  }
  auto ids = sample_tokens(*model_, pool_, {'\n'}, n, 0.8f, o_.train.seed);
  for (size_t i = 1; i < ids.size(); ++i) out += static_cast<char>(ids[i]);
  return out;
}

LmRunResult LmRun::train(const std::function<void(const LmStepReport&)>& on_step) {
  LmRunResult r;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t stop_at = o_.stop_at > 0 ? o_.stop_at : o_.steps;
  while (trainer_->steps_done() < std::min(o_.steps, stop_at)) {
    const LmStepReport s = step(stop_at);
    r.loss = s.stats.loss;
    if (on_step) on_step(s);
  }
  if (trainer_->steps_done() == 0) save();
  r.seconds = seconds_since(t0);
  if (o_.mode.new_embeddings) r.rows_sha256_after = original_rows_sha256(*model_, o_.base_vocab);
  group_->barrier();  // process 0's last checkpoint is on disk before anyone returns
  r.root = root();
  if (!r.root) return r;
  r.steps = trainer_->steps_done();
  r.mode = o_.mode.str();
  r.val_loss_before = val_before_;
  r.val_loss = val_;
  r.params = model_->params().count();
  r.trainable = trainable_;
  r.train_tokens = static_cast<int64_t>(data_.train.size());
  r.val_tokens = static_cast<int64_t>(data_.val.size());
  r.docs_train = data_.docs_train;
  r.docs_val = data_.docs_val;
  r.rows_sha256_before = rows_before_;
  r.model_dir = o_.out;
  r.checkpoint = ckpt_;
  r.log = log_path_;
  r.plot = o_.out + "/loss.png";
  if (!o_.mode.all) {
    r.adapter = o_.out + "/adapter";
    r.adapter_bytes = file_bytes(r.adapter + "/adapter_config.json") +
                      file_bytes(r.adapter + "/adapter_model.safetensors");
  }
  r.sample = sample_text();
  return r;
}

}  // namespace loom::train
