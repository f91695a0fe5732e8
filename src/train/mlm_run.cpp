// Masked-LM pre-training runs (see mlm_run.h).
#include "train/mlm_run.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/tensor_map.h"
#include "text/model_tokenizer.h"
#include "train/loss_plot.h"
#include "train/run_folder.h"

namespace loom::train {

namespace {

using ojson = nlohmann::ordered_json;

int64_t json_int(const ojson& j, const std::string& path, const char* key, int64_t fallback,
                 int64_t min) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < min)
    throw Error(path + ": field \"" + key + "\": expected an integer >= " + std::to_string(min));
  return it->get<int64_t>();
}

// The first of names the tokenizer knows, or a loom::Error naming them.
int32_t special_id(const text::Tokenizer& tok, const std::string& path,
                   std::initializer_list<const char*> names) {
  std::string tried;
  for (const char* n : names) {
    if (auto id = tok.token_to_id(n)) return *id;
    tried += std::string(tried.empty() ? "" : " or ") + n;
  }
  throw Error(path + ": the tokenizer has no " + tried + " token (pre-training needs it)");
}

const char* objective_name(Objective o) {
  return o == Objective::Span ? "span" : o == Objective::Denoise ? "denoise" : "mlm";
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

models::DecoderConfig encoder_config_json(const std::string& path, int64_t vocab) {
  const ojson j = ojson::parse(read_file(path), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(path + ": expected a JSON object");
  models::DecoderConfig c;
  c.arch = j.value("model_type", "");
  if (c.arch != "bert" && c.arch != "roberta")
    throw Error(path + ": field \"model_type\": expected \"bert\" or \"roberta\"");
  c.vocab_size = json_int(j, path, "vocab_size", vocab, 1);
  c.dim = json_int(j, path, "hidden_size", 768, 1);
  c.n_layers = json_int(j, path, "num_hidden_layers", 12, 1);
  c.n_heads = json_int(j, path, "num_attention_heads", 12, 1);
  c.hidden_dim = json_int(j, path, "intermediate_size", 4 * c.dim, 1);
  c.type_vocab_size = json_int(j, path, "type_vocab_size", c.arch == "bert" ? 2 : 1, 1);
  c.pad_token_id =
      static_cast<int32_t>(json_int(j, path, "pad_token_id", c.arch == "bert" ? 0 : 1, 0));
  const int64_t positions = json_int(j, path, "max_position_embeddings", 512, 1);
  c.position_offset = c.arch == "roberta" ? c.pad_token_id + 1 : 0;
  c.context_length = positions - c.position_offset;
  if (c.context_length <= 0)
    throw Error(path + ": max_position_embeddings must exceed pad_token_id + 1");
  const auto eps = j.find("layer_norm_eps");
  c.norm_eps = eps != j.end() && eps->is_number() ? eps->get<float>() : 1e-12f;
  c.hidden_act = "gelu";
  c.tied_head = true;
  c.has_pooler = c.has_mlm_head = true;
  if (c.dim % c.n_heads != 0)
    throw Error(path + ": hidden_size must be a multiple of num_attention_heads");
  return c;
}

models::DecoderConfig seq2seq_config_json(const std::string& path, int64_t vocab) {
  const std::string text = read_file(path);
  const ojson j = ojson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(path + ": expected a JSON object");
  const std::string type = j.value("model_type", "");
  if (type != "t5" && type != "bart")
    throw Error(path + ": field \"model_type\": expected \"t5\" or \"bart\"");
  const models::Architecture& a = models::architecture(type);
  models::DecoderConfig c;
  c.arch = type;
  for (const models::HParam& p : a.hparams()) {
    const auto it = j.find(p.hf_key);
    if (it != j.end() && !it->is_number())
      throw Error(path + ": field \"" + p.hf_key + "\": expected a number");
    const double v = it != j.end() ? it->get<double>() : p.def;
    if (!(std::fabs(v) <= 1e9))
      throw Error(path + ": field \"" + p.hf_key + "\": " + std::to_string(v) + " is out of range");
    if (p.i) c.*p.i = static_cast<int64_t>(v);
    if (p.f) c.*p.f = static_cast<float>(v);
  }
  c.vocab_size = json_int(j, path, "vocab_size", vocab, 1);
  a.normalize(c);
  for (const models::HParam& p : a.hparams())  // every integer hyperparameter is a size
    if (p.i && c.*p.i < 1)
      throw Error(path + ": field \"" + p.hf_key + "\": expected an integer >= 1");
  io::TensorMap map(path, "safetensors");
  io::add_config_json(map, text, path);
  int64_t total = 0;  // the stand-in tensors' elements, bounded before any is allocated
  for (const models::TensorSpec& t : a.tensors()) {
    if (!models::tensor_present(t, c)) continue;
    const Shape shape = t.hf_shape(c);
    int64_t n = 1;
    for (int i = 0; i < shape.rank(); ++i) {
      const int64_t d = shape[i];
      if (d <= 0 || d > (int64_t{1} << 24))
        throw Error(path + ": tensor '" + models::tensor_name(t, 0, true) + "' would have shape " +
                    shape.str() + ": the sizes must be in 1.." + std::to_string(1 << 24));
      n *= d;
    }
    total += n * models::layer_count(t, c);
    if (n > (int64_t{1} << 28) || total > (int64_t{1} << 28))
      throw Error(path + ": the model would have over 2^28 parameters (a from-scratch CPU run)");
  }
  for (const models::TensorSpec& t : a.tensors())
    for (int64_t l = 0; l < models::layer_count(t, c); ++l)
      if (models::tensor_present(t, c))
        map.add(models::tensor_name(t, l, true), Tensor::zeros(t.hf_shape(c)));
  return models::read_config(a, map);
}

MlmRunOptions::MlmRunOptions() {
  train.batch = 32;
  train.seq = 128;
  train.schedule.lr = 5e-4f;
  train.schedule.min_lr = 5e-5f;
  train.schedule.warmup = 100;
  train.schedule.decay = nn::Decay::Cosine;
  train.adamw.weight_decay = 0.01f;
}

MlmRun::MlmRun(const MlmRunOptions& options, ThreadPool& pool,
               std::function<void(const std::string&)> note)
    : o_(options), pool_(pool), note_(std::move(note)) {
  check_options();
  o_.train.seq = o_.seq;
  o_.train.schedule.total_steps = o_.steps;
  load_data();
  build_model();
  prepare_folder();
}

MlmRun::~MlmRun() = default;

void MlmRun::check_options() const {
  if (o_.text.empty()) throw Error("masked LM run: no training text");
  if (o_.out.empty()) throw Error("masked LM run: no output folder");
  if (o_.config.empty() == o_.init.empty())
    throw Error("masked LM run: give a config.json for a new encoder or a model to continue");
  if (!o_.config.empty() && o_.tokenizer.empty())
    throw Error("masked LM run: a new encoder needs a tokenizer");
  if (o_.whole_word && o_.objective != Objective::Mlm)
    throw Error("pre-training run: whole-word masking goes with the mlm objective");
  if (o_.seq < 3) throw Error("masked LM run: seq must be >= 3 ([CLS], a token, [SEP])");
  if (o_.heldout_every < 0 || o_.heldout_every == 1)
    throw Error("held out every " + std::to_string(o_.heldout_every) +
                " lines: expected 0 (off) or N >= 2");
}

// T5's 100 sentinels <extra_id_0..99>, added when absent with <extra_id_0> last (the top id).
void MlmRun::add_sentinels() {
  std::vector<text::AddedToken> add;
  for (int k = 99; k >= 0; --k) {
    const std::string name = "<extra_id_" + std::to_string(k) + ">";
    if (!tok_->token_to_id(name)) add.push_back({name, true});
  }
  if (!add.empty()) tok_->add_tokens(add);
}

void MlmRun::prepare_noise() {
  noise_.objective = o_.objective;
  if (o_.objective == Objective::Span) {
    noise_.span.eos_id = special_id(*tok_, tok_path_, {"</s>", "[SEP]"});
    for (int k = 0; k < 100; ++k)
      noise_.span.sentinel_ids.push_back(
          *tok_->token_to_id("<extra_id_" + std::to_string(k) + ">"));
    return;
  }
  if (!tok_->token_to_id("<mask>") && !tok_->token_to_id("[MASK]"))
    tok_->add_tokens(std::vector<text::AddedToken>{{"<mask>", true}});
  noise_.bart.mask_id = special_id(*tok_, tok_path_, {"<mask>", "[MASK]"});
  noise_.bart.vocab_size = tok_->vocab_size();
  if (const auto dot = tok_->token_to_id(".")) noise_.full_stop_id = *dot;
  // Word starts: WordPiece marks continuations ("##x"); byte-level BPE and SentencePiece mark
  // starts (a leading space, "Ġ" or "▁").
  const auto n = static_cast<size_t>(tok_->vocab_size());
  bool wordpiece = false;
  for (size_t id = 0; id < n && !wordpiece; ++id)
    wordpiece = tok_->id_to_token(static_cast<int32_t>(id)).rfind("##", 0) == 0;
  noise_.begins_word.resize(n);
  for (size_t id = 0; id < n; ++id) {
    const std::string t = tok_->id_to_token(static_cast<int32_t>(id));
    noise_.begins_word[id] = wordpiece ? t.rfind("##", 0) != 0
                                       : t.rfind(" ", 0) == 0 || t.rfind("\xc4\xa0", 0) == 0 ||
                                             t.rfind("\xe2\x96\x81", 0) == 0;
  }
}

// Documents joined and cut into [CLS] + seq - 2 tokens + [SEP] (BART: <s> ... </s>; T5: seq - 1
// tokens, the eos coming with the corruption); held-out lines packed apart.
void MlmRun::load_data() {
  tok_path_ = text::model_tokenizer(o_.init, o_.tokenizer, {.gguf_vocab = false}).path;
  tok_ = text::load_tokenizer(tok_path_);
  const bool framed = o_.objective != Objective::Span;
  if (!framed) add_sentinels();
  const int32_t cls = framed ? special_id(*tok_, tok_path_, {"[CLS]", "<s>"}) : -1;
  const int32_t sep = framed ? special_id(*tok_, tok_path_, {"[SEP]", "</s>"}) : -1;
  if (o_.objective == Objective::Mlm) {
    mlm_.mask_id = special_id(*tok_, tok_path_, {"[MASK]", "<mask>"});
    mlm_.special_ids = {cls, sep, special_id(*tok_, tok_path_, {"[PAD]", "<pad>"})};
    mlm_.probability = o_.probability;
  } else {
    prepare_noise();
  }
  const std::string text = read_file(o_.text);
  MlmSequence cur[2];
  std::vector<MlmSequence>* out[2] = {&train_, &val_};
  auto flush = [&](int k) {
    if (cur[k].ids.size() <= 1) return;
    if (framed) cur[k].ids.push_back(sep);
    if (framed) cur[k].word_start.push_back(1);
    out[k]->push_back(std::move(cur[k]));
    cur[k] = {};
  };
  std::vector<int32_t> ids;
  int64_t line = 0;
  for (size_t start = 0; start < text.size(); ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const int k = o_.heldout_every > 0 && (line + 1) % o_.heldout_every == 0 ? 1 : 0;
    tok_->encode_ids(std::string_view(text).substr(start, end - start), false, ids);
    start = end + 1;
    for (int32_t id : ids) {
      if (cur[k].ids.empty() && framed) cur[k] = {{cls}, {1}};
      cur[k].ids.push_back(id);
      cur[k].word_start.push_back(tok_->id_to_token(id).rfind("##", 0) == 0 ? 0 : 1);
      train_tokens_ += k == 0 ? 1 : 0;
      if (static_cast<int64_t>(cur[k].ids.size()) == o_.seq - 1) flush(k);
    }
  }
  flush(0);
  flush(1);
  if (train_.empty()) throw Error(o_.text + ": no tokens to train on");
}

void MlmRun::build_model() {
  std::optional<models::HfModel> init;
  models::DecoderConfig c;
  if (!o_.init.empty()) {
    init = models::read_hf_model(o_.init);
    c = init->config;
    config_json_ = init->config_json;
  } else {
    c = o_.objective == Objective::Mlm ? encoder_config_json(o_.config, tok_->vocab_size())
                                       : seq2seq_config_json(o_.config, tok_->vocab_size());
    config_json_ = ojson::parse(read_file(o_.config));
  }
  const char* want = o_.objective == Objective::Span ? "t5" : "bart";
  if (o_.objective != Objective::Mlm && c.arch != want)
    throw Error((o_.init.empty() ? o_.config : o_.init) + ": the " + objective_name(o_.objective) +
                " objective trains a " + want + " model, not " + c.arch);
  if (tok_->vocab_size() > c.vocab_size)
    throw Error(tok_path_ + ": " + std::to_string(tok_->vocab_size()) +
                " token ids but the model has " + std::to_string(c.vocab_size) + " embedding rows");
  mlm_.vocab_size = c.vocab_size;
  model_ = make_run_model(c, init ? &*init : nullptr, false, std::nullopt, o_.train.seed);
  trainer_ =
      std::make_unique<MlmTrainer>(*model_, train_, mlm_, o_.whole_word, o_.train, pool_, noise_);
}

std::string MlmRun::record() const {
  return std::string("objective ") + objective_name(o_.objective) + "\nseq " +
         std::to_string(o_.seq) + "\nprobability " + std::to_string(o_.probability) +
         "\nwhole_word " + (o_.whole_word ? "1" : "0") + "\n";
}

void MlmRun::prepare_folder() {
  make_run_folder(o_.out);
  ckpt_ = o_.out + "/checkpoint.loom";
  log_path_ = o_.out + "/log.csv";
  const std::string record_path = o_.out + "/train_mode.txt";
  if (o_.resume) {
    check_run_record(record_path, record(), "--objective, --seq, --mlm-probability, --whole-word",
                     false);
    load_train_checkpoint(*model_, trainer_->optimizer(), ckpt_);
    write_file_atomic(log_path_, log_through_step(log_path_, trainer_->steps_done()));
  } else {
    if (path_exists(ckpt_))
      throw Error(ckpt_ + " exists: resume it or choose another output folder");
    if (!val_.empty()) val_loss_ = val_before_ = trainer_->evaluate(val_, o_.train.seed);
    write_file_atomic(record_path, record());
    copy_tokenizer(tok_path_, *tok_, o_.out);
    if (o_.objective == Objective::Span) tok_->save(o_.out + "/tokenizer.json");  // + sentinels
    if (!o_.init.empty()) copy_tokenizer_companions(o_.init, o_.out);
  }
  log_.open(log_path_, o_.resume ? std::ios::app : std::ios::trunc);
  if (!log_) throw Error(log_path_ + ": cannot open for writing");
  if (o_.resume) return;
  log_ << "step,loss,lr,grad_norm,tokens_per_s,val_loss,chosen_share,masked_share,random_share\n";
  if (!val_.empty()) log_ << "0,,,,," << val_before_ << ",,,\n";
}

int64_t MlmRun::tokens_to_train() const {
  return std::max<int64_t>(0, o_.steps - trainer_->steps_done()) * o_.train.batch *
         o_.train.grad_accum * o_.seq;
}

void MlmRun::save() {
  save_train_checkpoint(*model_, trainer_->optimizer(), ckpt_);
  models::save_hf_model(*model_, o_.out, config_json_);
  log_.flush();
  write_loss_plot(log_path_, o_.out + "/loss.png");
}

MlmStepReport MlmRun::step(int64_t stop_at) {
  const auto ts = std::chrono::steady_clock::now();
  MlmStepReport r;
  r.stats = trainer_->step(&r.mlm);
  const int64_t tokens = o_.train.batch * o_.train.grad_accum * o_.seq;
  r.tokens_per_s = static_cast<double>(tokens) / seconds_since(ts);
  tokens_done_ += tokens;
  const int64_t s = r.stats.step;
  const bool last = s == o_.steps || s == stop_at;
  r.evaluated = !val_.empty() && (s % o_.eval_every == 0 || last);
  if (r.evaluated) val_loss_ = trainer_->evaluate(val_, o_.train.seed);
  auto share = [&](int64_t n, int64_t of) {
    return of > 0 ? static_cast<double>(n) / static_cast<double>(of) : 0.0;
  };
  char b[256];
  std::snprintf(b, sizeof b, "%lld,%.5f,%.3g,%.4f,%.1f,%s,%.4f,%.4f,%.4f\n",
                static_cast<long long>(s), r.stats.loss, r.stats.lr, r.stats.grad_norm,
                r.tokens_per_s, r.evaluated ? std::to_string(val_loss_).c_str() : "",
                share(r.mlm.chosen, r.mlm.maskable), share(r.mlm.masked, r.mlm.chosen),
                share(r.mlm.randomised, r.mlm.chosen));
  log_ << b << std::flush;
  if (s % o_.save_every == 0 || last) save();
  r.val_loss = val_loss_;
  r.tokens_done = tokens_done_;
  return r;
}

MlmRunResult MlmRun::train(const std::function<void(const MlmStepReport&)>& on_step) {
  MlmRunResult r;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t stop_at = o_.stop_at > 0 ? o_.stop_at : o_.steps;
  while (trainer_->steps_done() < std::min(o_.steps, stop_at)) {
    const MlmStepReport s = step(stop_at);
    r.loss = s.stats.loss;
    if (on_step) on_step(s);
  }
  if (trainer_->steps_done() == 0) save();
  r.seconds = seconds_since(t0);
  r.steps = trainer_->steps_done();
  r.params = model_->params().count();
  r.train_sequences = static_cast<int64_t>(train_.size());
  r.val_sequences = static_cast<int64_t>(val_.size());
  r.train_tokens = train_tokens_;
  r.val_loss_before = val_before_;
  r.val_loss = val_loss_;
  r.model_dir = o_.out;
  r.checkpoint = ckpt_;
  r.log = log_path_;
  r.plot = o_.out + "/loss.png";
  return r;
}

}  // namespace loom::train
