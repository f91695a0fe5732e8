#include "train/rnn_lm_run.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/tensor_map.h"
#include "models/hf.h"
#include "train/text_lines.h"

namespace loom::train {

namespace {

struct WordData {
  WordVocab vocab;
  std::vector<int32_t> train, val;
};

// Training and held-out text, split by file or by line number; the vocabulary is the training
// text's words (plus <unk>, so held-out words outside it map there).
WordData load_words(const RnnLmRunOptions& o) {
  const std::string all = read_file(o.text);
  std::string train_text, val_text;
  if (!o.val_text.empty()) {
    train_text = all;
    val_text = read_file(o.val_text);
  } else {
    if (o.heldout_every < 2)
      throw Error("rnn lm run: give a held-out text or heldout_every >= 2 (for " + o.text + ")");
    for_each_line(all, o.heldout_every, [&](std::string_view line, bool held_out) {
      (held_out ? val_text : train_text).append(line).push_back('\n');
    });
  }
  WordData d;
  d.vocab.add_text(train_text);
  d.vocab.add_text(std::string(" ") + WordVocab::kUnk + "\n");
  d.train = d.vocab.encode(train_text, o.text);
  d.val = d.vocab.encode(val_text, o.val_text.empty() ? o.text : o.val_text);
  return d;
}

// The model folder: model.safetensors (PyTorch's names), config.json (word_language_model's
// argument names) and vocab.txt (one word per line, id order).
void save_model(models::RnnLm& lm, const WordVocab& vocab, const std::string& dir) {
  io::TensorMap map(dir + "/model.safetensors", "safetensors");
  for (const auto& p : lm.params().params()) {
    Tensor t = Tensor::empty(p->shape);
    std::memcpy(t.f32(), p->value.f32(), static_cast<size_t>(p->numel()) * sizeof(float));
    map.add(p->name, std::move(t));
  }
  const models::RnnLmConfig& c = lm.config();
  nlohmann::ordered_json j;
  j["architectures"] = {"RNNModel"};
  j["rnn_type"] = c.kind == nn::CellKind::Lstm      ? "LSTM"
                  : c.kind == nn::CellKind::Gru     ? "GRU"
                  : c.kind == nn::CellKind::RnnTanh ? "RNN_TANH"
                                                    : "RNN_RELU";
  j["ntoken"] = c.vocab_size;
  j["ninp"] = c.emb_size;
  j["nhid"] = c.hidden_size;
  j["nlayers"] = c.num_layers;
  j["dropout"] = c.dropout;
  j["tie_weights"] = c.tied;
  models::save_hf_directory(dir, map, j, {{"vocab.txt", vocab.text()}});
}

}  // namespace

RnnLmRunResult run_rnn_lm(RnnLmRunOptions o, ThreadPool& pool, const RnnLmStepFn& on_step) {
  const auto t0 = std::chrono::steady_clock::now();
  const WordData d = load_words(o);
  o.model.vocab_size = d.vocab.size();
  models::RnnLm lm(o.model);
  lm.init(o.train.seed);
  o.train.schedule.total_steps = o.steps;
  RnnLmTrainer trainer(lm, d.train, o.train, pool);
  RnnLmRunResult r;
  r.vocab = d.vocab.size();
  r.train_tokens = static_cast<int64_t>(d.train.size());
  r.val_tokens = static_cast<int64_t>(d.val.size());
  r.params = lm.params().count();
  r.val_loss_before = trainer.evaluate(d.val);
  float val = r.val_loss_before;
  double window_loss = 0;
  int64_t window_steps = 0;
  for (int64_t s = 0; s < o.steps; ++s) {
    const StepStats st = trainer.step();
    if (o.eval_every > 0 && st.step % o.eval_every == 0) {
      window_loss = window_steps = 0;
      val = trainer.evaluate(d.val);
    }
    window_loss += st.loss;
    ++window_steps;
    if (on_step) on_step(st, val, st.step * o.train.batch * o.train.bptt);
  }
  r.steps = o.steps;
  r.loss =
      window_steps > 0 ? static_cast<float>(window_loss / static_cast<double>(window_steps)) : NAN;
  r.val_loss = trainer.evaluate(d.val);
  if (!o.out.empty()) {
    save_model(lm, d.vocab, o.out);
    r.model_dir = o.out;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace loom::train
