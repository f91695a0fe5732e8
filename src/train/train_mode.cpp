#include "train/train_mode.h"

#include "core/error.h"

namespace loom::train {

std::string TrainMode::str() const {
  if (all) return "all";
  if (new_embeddings && lora) return "new-embeddings,lora";
  return new_embeddings ? "new-embeddings" : "lora";
}

TrainMode parse_train_mode(const std::string& s) {
  TrainMode m;
  if (s == "all")
    m.all = true;
  else if (s == "new-embeddings")
    m.new_embeddings = true;
  else if (s == "lora")
    m.lora = true;
  else if (s == "new-embeddings,lora" || s == "lora,new-embeddings")
    m.new_embeddings = m.lora = true;
  else
    throw Error("--train '" + s + "': expected all, new-embeddings, lora or new-embeddings,lora");
  return m;
}

int64_t apply_train_mode(models::CausalLm& model, const TrainMode& mode, int64_t base_vocab) {
  const models::DecoderConfig& c = model.config();
  const bool has_lora = !model.lora_sites().empty();
  if (mode.lora && !has_lora)
    throw Error("--train " + mode.str() + " needs LoRA adapters (--lora-rank > 0)");
  if (!mode.lora && has_lora)
    throw Error("LoRA adapters exist but --train " + mode.str() + " does not train them");
  if (mode.new_embeddings && (base_vocab <= 0 || base_vocab >= c.vocab_size))
    throw Error("--train new-embeddings: the base vocabulary size " + std::to_string(base_vocab) +
                " must be in 1.." + std::to_string(c.vocab_size - 1) + " (the model has " +
                std::to_string(c.vocab_size) +
                " tokens; pass --base-vocab or extend the model first)");
  const std::string emb = model.param(models::Wt{0, 0})->name;  // the spec's token embedding
  int64_t n = 0;
  for (const auto& p : model.params().params()) {
    p->frozen_rows.clear();
    const bool lora_param = model.is_lora_param(p->name);
    const bool embedding_or_head = p->name == emb || p->name == "lm_head.weight";
    const bool head = p.get() == model.score_head() || p.get() == model.score_bias();
    if (mode.all || head) {
      p->trainable = true;  // a scoring head always trains (PEFT's modules_to_save for SEQ_CLS)
    } else if (lora_param) {
      p->trainable = mode.lora;
    } else if (mode.new_embeddings && embedding_or_head) {
      p->trainable = true;
      p->frozen_rows.assign(static_cast<size_t>(p->rows()), 0);
      for (int64_t r = 0; r < base_vocab; ++r) p->frozen_rows[static_cast<size_t>(r)] = 1;
    } else {
      p->trainable = false;
    }
    if (p->trainable)
      n += p->frozen_rows.empty() ? p->numel() : (p->rows() - base_vocab) * p->cols();
  }
  return n;
}

}  // namespace loom::train
