// SFT and DPO runs through the run folder (see finetune_run.h).
#include "train/finetune_run.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/error.h"
#include "core/mapped_file.h"
#include "text/model_tokenizer.h"
#include "train/loss_plot.h"
#include "train/objectives.h"

namespace loom::train {

Task parse_task(const std::string& s) {
  if (s == "clm") return Task::Clm;
  if (s == "sft") return Task::Sft;
  if (s == "dpo") return Task::Dpo;
  if (s == "reward") return Task::Reward;
  if (s == "classify") return Task::Classify;
  if (s == "token-classify") return Task::TokenClassify;
  throw Error("task \"" + s + "\": expected clm, sft, dpo, reward, classify or token-classify");
}

const char* task_name(Task t) {
  switch (t) {
    case Task::Clm:
      return "clm";
    case Task::Sft:
      return "sft";
    case Task::Dpo:
      return "dpo";
    case Task::Reward:
      return "reward";
    case Task::Classify:
      return "classify";
    case Task::TokenClassify:
      return "token-classify";
  }
  return "?";
}

FinetuneRunOptions::FinetuneRunOptions() {
  mode.all = true;
  train.batch = 8;
  train.schedule.lr = 1e-4f;
  train.schedule.min_lr = 1e-5f;
  train.schedule.warmup = 10;
  train.schedule.decay = nn::Decay::Cosine;
  train.adamw.weight_decay = 0.0f;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Moves the examples whose JSONL line number `every` divides from all into held.
template <typename T>
void hold_out_lines(std::vector<T>& all, std::vector<T>& held, int64_t every) {
  std::vector<T> kept;
  for (T& e : all) (e.line % every == 0 ? held : kept).push_back(std::move(e));
  all = std::move(kept);
}

// save_hf_model names a classification head *ForSequenceClassification; a token head is
// transformers' *ForTokenClassification (same classifier names, applied to every token).
void name_token_classification(const std::string& config_path) {
  auto j = nlohmann::ordered_json::parse(read_file(config_path));
  for (auto& a : j["architectures"]) {
    std::string s = a.get<std::string>();
    if (const size_t at = s.find("ForSequenceClassification"); at != std::string::npos)
      a = s.substr(0, at) + "ForTokenClassification";
  }
  write_file_atomic(config_path, j.dump(1) + "\n");
}

std::string fmt4(float v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

}  // namespace

FinetuneRun::FinetuneRun(const FinetuneRunOptions& options, ThreadPool& pool,
                         std::function<void(const std::string&)> note)
    : o_(options), pool_(pool), note_(std::move(note)) {
  check_options();
  init_ = models::read_hf_model(o_.init);
  o_.train.seq = o_.seq > 0 ? o_.seq : std::min<int64_t>(256, init_->config.context_length);
  o_.train.schedule.total_steps = o_.steps;
  load_tokenizer();
  load_data();
  build_model();
  prepare_folder();
}

FinetuneRun::~FinetuneRun() = default;

void FinetuneRun::check_options() const {
  if (o_.task == Task::Clm) throw Error("fine-tuning run: task clm is train/run.h's LmRun");
  if (o_.data.empty()) throw Error("fine-tuning run: no training data");
  if (o_.num_labels < 0 || (o_.num_labels > 0 && o_.task != Task::Classify))
    throw Error("fine-tuning run: num_labels " + std::to_string(o_.num_labels) +
                ": expected a count >= 1 with task classify");
  if (o_.pooling && o_.task != Task::Classify)
    throw Error("fine-tuning run: a pooling goes with task classify");
  if (o_.init.empty()) throw Error("fine-tuning run: no model to fine-tune (init)");
  if (o_.out.empty()) throw Error("fine-tuning run: no output folder");
  if (o_.heldout_every < 0 || o_.heldout_every == 1)
    throw Error("held out every " + std::to_string(o_.heldout_every) +
                " lines: expected 0 (off) or N >= 2");
  if (o_.heldout_every > 0 && !o_.eval.empty())
    throw Error("give a held-out file or held-out lines, not both");
  if (o_.mode.new_embeddings)
    throw Error("training " + o_.mode.str() + ": fine-tuning trains all weights or LoRA");
  if (o_.pack && o_.task != Task::Sft) throw Error("packing is for task sft");
  if (o_.sample_eval < 0 || o_.sample_tokens <= 0 ||
      (o_.sample_eval > 0 && o_.task != Task::Sft && o_.task != Task::Dpo))
    throw Error(
        "sample eval: expected a count >= 0 of samples per held-out prompt (task sft or "
        "dpo) and sample tokens > 0");
}

void FinetuneRun::load_tokenizer() {
  tok_path_ = text::model_tokenizer(o_.init, o_.tokenizer, {.gguf_vocab = false}).path;
  tok_ = text::load_tokenizer(tok_path_);
  if (o_.chat_template.empty()) return;
  text::ChatTemplateConfig c = text::read_chat_template_config(o_.chat_template);
  template_ = std::make_unique<text::ChatTemplate>(c.source, o_.chat_template);
  chat_tokens_ = c.tokens;
}

// The label count comes from the training file unless given; held-out labels must be below it.
void FinetuneRun::load_classify_data() {
  ClassifyDataOptions co{tok_.get(), o_.train.seq, o_.num_labels};
  train_cls_ = read_classify_data(o_.data, co);
  num_labels_ = co.num_labels = o_.num_labels > 0 ? o_.num_labels : count_labels(train_cls_);
  if (!o_.eval.empty()) val_cls_ = read_classify_data(o_.eval, co);
  if (o_.heldout_every > 0) hold_out_lines(train_cls_, val_cls_, o_.heldout_every);
  if (train_cls_.empty()) throw Error(o_.data + ": every example is held out");
}

// The labels are the training file's sorted tags, saved as config.json's id2label.
void FinetuneRun::load_token_data() {
  const std::vector<TaggedSentence> train = read_tagged_sentences(o_.data);
  tag_names_ = tag_names(train);
  num_labels_ = static_cast<int64_t>(tag_names_.size());
  train_cls_ = encode_tagged(train, tag_names_, *tok_, o_.train.seq, o_.data);
  if (!o_.eval.empty())
    val_cls_ =
        encode_tagged(read_tagged_sentences(o_.eval), tag_names_, *tok_, o_.train.seq, o_.eval);
  if (o_.heldout_every > 0) hold_out_lines(train_cls_, val_cls_, o_.heldout_every);
  if (train_cls_.empty()) throw Error(o_.data + ": every sentence is held out");
  init_->config_json["id2label"] = nlohmann::ordered_json::object();
  init_->config_json["label2id"] = nlohmann::ordered_json::object();
  for (size_t i = 0; i < tag_names_.size(); ++i) {
    init_->config_json["id2label"][std::to_string(i)] = tag_names_[i];
    init_->config_json["label2id"][tag_names_[i]] = i;
  }
}

void FinetuneRun::load_data() {
  SftDataOptions so{tok_.get(), template_.get(), chat_tokens_, o_.train.seq};
  if (o_.task == Task::TokenClassify) {
    load_token_data();
  } else if (o_.task == Task::Classify) {
    load_classify_data();
  } else if (o_.task == Task::Sft) {
    train_sft_ = read_sft_jsonl(o_.data, so);
    if (!o_.eval.empty()) val_sft_ = read_sft_jsonl(o_.eval, so);
    if (o_.heldout_every > 0) hold_out_lines(train_sft_, val_sft_, o_.heldout_every);
    if (train_sft_.empty()) throw Error(o_.data + ": every example is held out");
  } else {  // DPO, reward model
    train_pairs_ = read_preference_jsonl(o_.data, so);
    if (!o_.eval.empty()) val_pairs_ = read_preference_jsonl(o_.eval, so);
    if (o_.heldout_every > 0) hold_out_lines(train_pairs_, val_pairs_, o_.heldout_every);
    if (train_pairs_.empty()) throw Error(o_.data + ": every pair is held out");
  }
}

void FinetuneRun::build_model() {
  const models::DecoderConfig& c = init_->config;
  if (tok_->vocab_size() > c.vocab_size)
    throw Error(tok_path_ + ": " + std::to_string(tok_->vocab_size()) +
                " token ids but the model " + o_.init + " has " + std::to_string(c.vocab_size) +
                " embedding rows");
  model_ = make_run_model(c, &*init_, o_.mode.lora, o_.lora, o_.train.seed,
                          o_.task == Task::Reward ? 1 : num_labels_);
  trainable_ = apply_train_mode(*model_, o_.mode, -1);
}

// DPO's reference log-probs: computed from the init model on a fresh run, loaded on resume.
void FinetuneRun::prepare_references() {
  const std::string paths[2] = {o_.out + "/ref_logprobs.loom", o_.out + "/ref_logprobs_eval.loom"};
  const std::vector<PreferenceExample>* pairs[2] = {&train_pairs_, &val_pairs_};
  RefLogprobs* refs[2] = {&ref_, &val_ref_};
  for (int k = 0; k < 2; ++k) {
    if (pairs[k]->empty()) continue;
    if (o_.resume) {
      *refs[k] = load_ref_logprobs(paths[k], preference_data_sha256(*pairs[k]));
    } else {
      *refs[k] = compute_ref_logprobs(*model_, *pairs[k], 2 * o_.train.batch, o_.train.seq, pool_);
      save_ref_logprobs(*refs[k], paths[k]);
    }
  }
  ref_reused_ = o_.resume;
  if (note_)
    note_(std::string("reference log-probs ") + (o_.resume ? "reused from " : "computed into ") +
          paths[0]);
}

std::string FinetuneRun::record() const {
  std::string r = std::string("task ") + task_name(o_.task) + "\ntrain " + o_.mode.str() +
                  "\nseq " + std::to_string(o_.train.seq) + "\nlora_rank " +
                  std::to_string(model_->lora().rank) + "\nlora_alpha " +
                  std::to_string(model_->lora().alpha) + "\nlora_targets";
  for (const std::string& t : model_->lora().targets) r += " " + t;
  if (o_.task == Task::Classify) r += "\nnum_labels " + std::to_string(num_labels_);
  if (o_.pooling) r += std::string("\npooling ") + pooling_name(*o_.pooling);
  if (o_.task == Task::TokenClassify) r += "\nlabels";
  for (const std::string& t : tag_names_) r += " " + t;
  if (o_.pack) r += "\npack 1";
  if (o_.task == Task::Dpo)
    r += "\nbeta " + std::to_string(o_.dpo.beta) + "\nlabel_smoothing " +
         std::to_string(o_.dpo.label_smoothing) + "\nloss " + (o_.dpo.ipo ? "ipo" : "sigmoid");
  return r + "\n";
}

void FinetuneRun::prepare_folder() {
  make_run_folder(o_.out);
  ckpt_ = o_.out + "/checkpoint.loom";
  log_path_ = o_.out + "/log.csv";
  const std::string record_path = o_.out + "/train_mode.txt";
  if (o_.resume) {
    check_run_record(record_path, record(),
                     "--task, --train, --seq, --lora-*, --beta, "
                     "--label-smoothing, --loss, --num-labels, --pooling, --pack, the tags of "
                     "--data",
                     false);
  } else if (path_exists(ckpt_)) {
    throw Error(ckpt_ + " exists: resume it or choose another output folder");
  }
  if (o_.task == Task::Dpo) {
    prepare_references();
    dpo_ = std::make_unique<DpoTrainer>(*model_, train_pairs_, ref_, o_.dpo, o_.train, pool_);
  } else if (o_.task == Task::Reward) {
    reward_ = std::make_unique<RewardTrainer>(*model_, train_pairs_, o_.train, pool_);
  } else if (classifying()) {
    classify_ = std::make_unique<ClassifyTrainer>(*model_, train_cls_, o_.train, pool_, o_.pooling);
  } else {
    sft_ = std::make_unique<SftTrainer>(*model_, train_sft_, o_.train, pool_, o_.pack);
  }
  if (o_.resume) {
    load_train_checkpoint(*model_, optimizer(), ckpt_);
    write_file_atomic(log_path_, log_through_step(log_path_, steps_done()));
  } else {
    evaluate();
    val_before_ = val_;
    acc_before_ = acc_;
    if (o_.sample_eval > 0) write_samples(o_.out + "/samples_before.jsonl", nullptr);
    write_file_atomic(record_path, record());
    copy_tokenizer(tok_path_, *tok_, o_.out);
    copy_tokenizer_companions(o_.init, o_.out);
  }
  open_log();
}

void FinetuneRun::open_log() {
  log_.open(log_path_, o_.resume ? std::ios::app : std::ios::trunc);
  if (!log_) throw Error(log_path_ + ": cannot open for writing");
  if (o_.resume) return;
  log_ << "step,loss,lr,grad_norm,tokens_per_s,val_loss"
       << (dpo_        ? ",chosen_reward,rejected_reward,margin,accuracy,val_margin,val_accuracy"
           : reward_   ? ",margin,accuracy,val_margin,val_accuracy"
           : classify_ ? ",accuracy,val_accuracy"
                       : "")
       << "\n";
  if (!has_val()) return;
  log_ << "0,,,,," << fmt4(val_before_);
  if (dpo_) log_ << ",,,,";
  if (reward_) log_ << ",,";
  if (dpo_ || reward_) log_ << "," << fmt4(margin_) << "," << fmt4(acc_before_);
  if (classify_) log_ << ",," << fmt4(acc_before_);
  log_ << "\n";
}

void FinetuneRun::evaluate() {
  if (sft_ && !val_sft_.empty()) val_ = sft_->evaluate(val_sft_);
  if (dpo_ && !val_pairs_.empty()) {
    const DpoStepStats e = dpo_->evaluate(val_pairs_, val_ref_);
    val_ = e.loss;
    acc_ = e.accuracy;
    margin_ = e.margin;
  }
  if (classify_ && !val_cls_.empty()) {
    const ClassifyStats e = classify_->evaluate(val_cls_, &val_predicted_);
    val_ = e.loss;
    acc_ = e.accuracy;
  }
  if (reward_ && !val_pairs_.empty()) {
    const RewardStats e = reward_->evaluate(val_pairs_);
    val_ = e.loss;
    acc_ = e.accuracy;
    margin_ = e.margin;
  }
}

int64_t FinetuneRun::steps_done() const {
  return sft_        ? sft_->steps_done()
         : dpo_      ? dpo_->steps_done()
         : classify_ ? classify_->steps_done()
                     : reward_->steps_done();
}

nn::AdamW& FinetuneRun::optimizer() {
  return sft_        ? sft_->optimizer()
         : dpo_      ? dpo_->optimizer()
         : classify_ ? classify_->optimizer()
                     : reward_->optimizer();
}

int64_t FinetuneRun::tokens_per_step() const {
  return o_.train.batch * o_.train.seq * o_.train.grad_accum * (sft_ || classify_ ? 1 : 2);
}

int64_t FinetuneRun::tokens_to_train() const {
  return std::max<int64_t>(0, o_.steps - steps_done()) * tokens_per_step();
}

void FinetuneRun::save() {
  save_train_checkpoint(*model_, optimizer(), ckpt_);
  models::save_hf_model(*model_, o_.out, init_->config_json);
  if (o_.task == Task::TokenClassify) name_token_classification(o_.out + "/config.json");
  if (!o_.mode.all) save_run_adapter(*model_, o_.out, -1, o_.init);
  log_.flush();
  write_loss_plot(log_path_, o_.out + "/loss.png");
}

void FinetuneRun::write_row(const FinetuneStepReport& r) {
  char b[160];
  std::snprintf(b, sizeof b, "%lld,%.5f,%.3g,%.4f,%.1f,", static_cast<long long>(r.stats.step),
                r.stats.loss, r.stats.lr, r.stats.grad_norm, r.tokens_per_s);
  log_ << b << (r.evaluated ? fmt4(val_) : "");
  if (dpo_)
    log_ << "," << fmt4(r.dpo.chosen_reward) << "," << fmt4(r.dpo.rejected_reward) << ","
         << fmt4(r.dpo.margin) << "," << fmt4(r.dpo.accuracy) << ",";
  if (reward_) log_ << "," << fmt4(r.reward.margin) << "," << fmt4(r.reward.accuracy) << ",";
  if (classify_) log_ << "," << fmt4(r.classify.accuracy) << "," << (r.evaluated ? fmt4(acc_) : "");
  if (dpo_ || reward_) log_ << (r.evaluated ? fmt4(margin_) + "," + fmt4(acc_) : ",");
  log_ << "\n" << std::flush;
}

FinetuneStepReport FinetuneRun::step(int64_t stop_at) {
  const auto ts = std::chrono::steady_clock::now();
  FinetuneStepReport r;
  if (sft_) {
    r.stats = sft_->step();
  } else if (dpo_) {
    r.dpo = dpo_->step();
    r.stats = r.dpo.step;
  } else if (classify_) {
    r.stats = classify_->step(&r.classify);
  } else {
    r.stats = reward_->step(&r.reward);
  }
  const double took = seconds_since(ts);
  r.tokens_per_s = static_cast<double>(tokens_per_step()) / took;
  if (sft_) r.real_tokens = sft_->last_step_tokens();
  real_tokens_ += r.real_tokens;
  step_seconds_ += took;
  tokens_done_ += tokens_per_step();
  const int64_t s = r.stats.step;
  const bool last = s == o_.steps || s == stop_at;
  r.evaluated = has_val() && (s % o_.eval_every == 0 || last);
  if (r.evaluated) evaluate();
  write_row(r);
  if (s % o_.save_every == 0 || last) save();
  r.val_loss = val_;
  r.val_accuracy = acc_;
  r.tokens_done = tokens_done_;
  return r;
}

FinetuneRunResult FinetuneRun::train(
    const std::function<void(const FinetuneStepReport&)>& on_step) {
  FinetuneRunResult r;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t stop_at = o_.stop_at > 0 ? o_.stop_at : o_.steps;
  while (steps_done() < std::min(o_.steps, stop_at)) {
    const FinetuneStepReport s = step(stop_at);
    r.loss = s.stats.loss;
    if (on_step) on_step(s);
  }
  if (steps_done() == 0) save();
  r.seconds = seconds_since(t0);
  r.steps = steps_done();
  r.task = task_name(o_.task);
  r.mode = o_.mode.str();
  r.val_loss_before = val_before_;
  r.val_loss = val_;
  r.val_accuracy_before = acc_before_;
  r.val_accuracy = acc_;
  r.val_margin = margin_;
  r.params = model_->params().count();
  r.trainable = trainable_;
  r.train_examples = train_examples();
  r.val_examples = val_examples();
  if (classify_) result_labels(r);
  r.model_dir = o_.out;
  r.checkpoint = ckpt_;
  r.log = log_path_;
  r.plot = o_.out + "/loss.png";
  if (!o_.mode.all) {
    r.adapter = o_.out + "/adapter";
    r.adapter_bytes = file_bytes(r.adapter + "/adapter_config.json") +
                      file_bytes(r.adapter + "/adapter_model.safetensors");
  }
  if (dpo_) r.ref_cache = o_.out + "/ref_logprobs.loom";
  r.ref_reused = ref_reused_;
  if (sft_) {
    r.sequences = sft_->sequences();
    if (step_seconds_ > 0) r.real_tokens_per_s = static_cast<double>(real_tokens_) / step_seconds_;
  }
  if (o_.sample_eval > 0) {
    auto reference = make_run_model(init_->config, &*init_, false, std::nullopt, o_.train.seed, 0);
    r.samples = o_.out + "/samples.jsonl";
    const SampleEval e = write_samples(r.samples, reference.get());
    r.kl_ref = e.kl;
    r.kl_tokens = e.tokens;
  }
  return r;
}

// The held-out labels and predictions: per example, or per labelled token with the sentences'
// tags (predictions are in the labelled tokens' order, train/classify_trainer.h).
void FinetuneRun::result_labels(FinetuneRunResult& r) const {
  r.num_labels = num_labels_;
  r.val_predicted = val_predicted_;
  size_t at = 0;
  for (const ClassifyExample& e : val_cls_) {
    if (e.tags.empty()) {
      r.val_labels.push_back(e.label);
      continue;
    }
    r.val_tags.push_back(labelled_tags(e.tags, tag_names_));
    std::vector<std::string>& pred = r.val_predicted_tags.emplace_back();
    for (int32_t t : e.tags) {
      if (t == kIgnoreLabel) continue;
      r.val_labels.push_back(t);
      if (at < val_predicted_.size())
        pred.push_back(tag_names_[static_cast<size_t>(val_predicted_[at++])]);
    }
  }
}

int64_t FinetuneRun::train_examples() const {
  return static_cast<int64_t>(sft_        ? train_sft_.size()
                              : classify_ ? train_cls_.size()
                                          : train_pairs_.size());
}

int64_t FinetuneRun::val_examples() const {
  return static_cast<int64_t>(sft_        ? val_sft_.size()
                              : classify_ ? val_cls_.size()
                                          : val_pairs_.size());
}

}  // namespace loom::train
