// Domain adapters as PEFT directories: what a domain-adaptation run trained (LoRA adapters, the new
// embedding rows), saved the way Hugging Face PEFT's save_pretrained lays out an adapter, and read
// back onto a base model.
//
// Layout (PEFT, src/peft/tuners/lora/config.py, tuners/trainable_tokens/{config,layer}.py and
// utils/save_and_load.py, read for this; keys lose PEFT's adapter name "default"):
//   adapter_config.json        peft_type "LORA": r, lora_alpha, target_modules (module-name
//                              suffixes, "q_proj"), lora_dropout, bias "none", fan_in_fan_out,
//                              task_type "CAUSAL_LM", base_model_name_or_path, and the new rows as
//                              trainable_token_indices ({"embed_tokens": [...], "lm_head": [...]}
//                              for an untied head; a plain list means the input embedding).
//                              peft_type "TRAINABLE_TOKENS" (only new rows trained): token_indices
//                              and target_modules ["embed_tokens"] (+ "lm_head" when untied).
//   adapter_model.safetensors  base_model.model.<module>.lora_A.weight (r, in),
//                              base_model.model.<module>.lora_B.weight (out, r);
//                              base_model.model.<embed module>.token_adapter.trainable_tokens_delta
//                              (n, dim) under LORA, ...<module>.trainable_tokens_delta under
//                              TRAINABLE_TOKENS. Despite the name these are the rows' full values:
//                              PEFT's TrainableTokensLayer index_copy()s them into the weight.
//                              A sequence-classification head (a reward model's score.weight,
//                              BERT's classifier.weight/.bias) trains whole, as PEFT's
//                              modules_to_save: in memory ModulesToSaveWrapper holds
//                              base_model.model.score.modules_to_save.default.weight, saved as
//                              base_model.model.score.weight (get_peft_model_state_dict keeps the
//                              wrapper's adapter_state_dict keys and drops the adapter name);
//                              the config then has modules_to_save ["score"] and task_type
//                              "SEQ_CLS" (PeftModelForSequenceClassification).
// Loom adds "loom": {"base_vocab_size", "vocab_size", "base_rows_sha256"}, so a base model whose
// original rows differ is refused by name (PEFT's PeftConfig.from_peft_type drops keys its config
// class does not know, with a warning, so PEFT still loads the file).
//
// A PEFT user loads it as: model = AutoModelForCausalLM.from_pretrained(BASE);
// tok = AutoTokenizer.from_pretrained(ADAPTER); model.resize_token_embeddings(len(tok));
// model = PeftModel.from_pretrained(model, ADAPTER). Loom does the same: grow to vocab_size, put
// the trainable-token rows at their indices, and merge W += (alpha / r) · B·A at load (as
// nn::merge_lora, the same arithmetic the merged model of a run was saved with).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/tensor_map.h"
#include "models/causal_lm.h"
#include "models/hf.h"
#include "models/model.h"

namespace loom::models {

// An adapter as read: its settings and PEFT-named tensors, checked for shape and name against
// the architecture when applied.
struct PeftAdapter {
  std::string dir;        // where it came from (errors name dir/adapter_config.json)
  std::string peft_type;  // "LORA" or "TRAINABLE_TOKENS"
  int64_t rank = 0;       // LoRA r (0: no LoRA)
  float alpha = 0;
  bool fan_in_fan_out = false;
  std::vector<std::string> target_modules;  // LoRA targets as PEFT matches them (suffixes)
  // Rows the adapter replaces, per module leaf name ("embed_tokens", "lm_head"), in file order.
  std::map<std::string, std::vector<int64_t>> token_indices;
  int64_t base_vocab = -1, vocab = -1;  // Loom's record; -1 when absent (PEFT-written)
  std::string base_rows_sha256;         // "" when absent
  // modules_to_save: classification heads ("score", "classifier") stored whole.
  std::vector<std::string> modules_to_save;
  io::TensorMap tensors;
  float scale() const { return rank > 0 ? alpha / static_cast<float>(rank) : 0.0f; }
};

// What a run knows about the adapter it saves beside the merged model.
struct PeftSaveInfo {
  int64_t base_vocab = -1;       // rows [base_vocab, vocab) are the new ones; -1: none
  std::string base_rows_sha256;  // of rows [0, base_vocab) (embedding_rows_sha256)
  std::string base_model;        // base_model_name_or_path
};

// sha256 over the f32 bytes of rows [0, base) of the token embedding, then of the untied head
// (nullptr when tied): the rows a domain adaptation must never change.
std::string embedding_rows_sha256(const float* embed, const float* head, int64_t base,
                                  int64_t cols);
// The same over a Hugging Face model's tensors (any float dtype, converted to f32).
std::string embedding_rows_sha256(const HfModel& m, int64_t base);

// The adapter of a trained model: every LoRA site's A and B, rows [base_vocab, vocab) of the
// embedding (and of an untied head) as trainable tokens, and a classification head as
// modules_to_save (LoRA only). A model with no LoRA and no new rows is a loom::Error.
PeftAdapter peft_adapter_of(CausalLm& model, const PeftSaveInfo& info);
nlohmann::ordered_json peft_config_json(const PeftAdapter& a, const std::string& base_model);
// Writes dir/adapter_config.json, dir/adapter_model.safetensors and each extra file (the
// tokenizer), each atomically (temporary name, fsync, rename); dir is created when missing.
void save_peft_adapter(CausalLm& model, const std::string& dir, const PeftSaveInfo& info,
                       const std::map<std::string, std::string>& extra_files = {});

// Reads dir/adapter_config.json and dir/adapter_model.safetensors. Unsupported settings
// (use_dora, use_rslora, bias, rank/alpha patterns, layers_to_transform, another peft_type) and
// malformed fields are a loom::Error naming the file and field.
PeftAdapter read_peft_adapter(const std::string& dir);
// The same from the config's text and tensors already read (the fuzz target's entry).
PeftAdapter parse_peft_adapter(const std::string& config_text, io::TensorMap tensors,
                               const std::string& dir);

// Applies the adapter to base in place: checks the base (vocabulary, sha256 of its original
// rows), every target module and tensor name and shape; grows the embedding (and untied head) to
// the adapter's vocabulary, writes the trainable-token rows, merges the LoRA updates and puts
// the modules_to_save heads in (added, or replacing the base's). Errors name the adapter's file
// and field, or the base model.
void apply_peft_adapter(HfModel& base, const PeftAdapter& a);

// A model ready to run from Hugging Face tensors and config.json (nothing written).
std::shared_ptr<const Model> build_hf_model(const HfModel& m);

}  // namespace loom::models
