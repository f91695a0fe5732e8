#include "models/peft.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/sha256.h"
#include "models/peft_names.h"
#include "nn/lora.h"

namespace loom::models {

namespace {

using ojson = nlohmann::ordered_json;
using peft::delta_key;
using peft::f32_copy;
using peft::kPrefix;
using peft::leaf;
using peft::module_of;

Tensor rows_of(const float* w, int64_t begin, int64_t end, int64_t cols) {
  Tensor t = Tensor::empty(Shape{end - begin, cols});
  std::memcpy(t.f32(), w + begin * cols, static_cast<size_t>((end - begin) * cols) * 4);
  return t;
}

Tensor copy_of(const nn::Parameter& p) {
  Tensor t = Tensor::empty(p.value.shape());
  std::memcpy(t.f32(), p.value.f32(), static_cast<size_t>(p.numel()) * sizeof(float));
  return t;
}

// PEFT's name for a target: its leaf ("q_proj") when no other LoRA-capable module of a block
// ends with it, else the block-relative name ("attn.c_proj", not GPT-2's mlp.c_proj too).
std::string target_name(const CausalLm& model, const std::string& block_relative) {
  const std::string l = leaf(block_relative);
  for (const TensorSpec& t : model.architecture().tensors()) {
    const std::string m = module_of(tensor_name(t, 0, true));
    if (t.per_layer && t.lora != nullptr && peft::matches(m, l) &&
        !peft::matches(m, block_relative))
      return block_relative;
  }
  return l;
}

std::vector<int64_t> range(int64_t begin, int64_t end) {
  std::vector<int64_t> v;
  for (int64_t i = begin; i < end; ++i) v.push_back(i);
  return v;
}

// A classification head trains whole: LoRA's modules_to_save, saved under the head's own name
// (peft.h).
void add_head(CausalLm& model, PeftAdapter& a) {
  for (nn::Parameter* p : {model.score_head(), model.score_bias()}) {
    if (p == nullptr) continue;
    if (a.peft_type != "LORA")
      throw Error("adapter: the classification head " + p->name +
                  " is saved as LoRA's modules_to_save; train it with LoRA");
    const std::string m = module_of(p->name);
    if (std::find(a.modules_to_save.begin(), a.modules_to_save.end(), m) == a.modules_to_save.end())
      a.modules_to_save.push_back(m);
    a.tensors.add(kPrefix + p->name, copy_of(*p));
  }
}

}  // namespace

std::string embedding_rows_sha256(const float* embed, const float* head, int64_t base,
                                  int64_t cols) {
  std::string bytes;
  for (const float* p : {embed, head})
    if (p != nullptr)
      bytes.append(reinterpret_cast<const char*>(p),
                   static_cast<size_t>(base * cols) * sizeof(float));
  return sha256_hex(bytes);
}

std::string embedding_rows_sha256(const HfModel& m, int64_t base) {
  const Tensor e = f32_copy(m.tensors.get(m.embed_name()));
  Tensor h;
  if (!m.config.tied_head) h = f32_copy(m.tensors.get(m.head_name()));
  return embedding_rows_sha256(e.f32(), h.defined() ? h.f32() : nullptr, base, m.config.dim);
}

PeftAdapter peft_adapter_of(CausalLm& model, const PeftSaveInfo& info) {
  PeftAdapter a;
  const nn::LoraConfig& lora = model.lora();
  a.peft_type = lora.rank > 0 ? "LORA" : "TRAINABLE_TOKENS";
  a.rank = lora.rank;
  a.alpha = lora.alpha;
  for (const std::string& t : lora.targets) a.target_modules.push_back(target_name(model, t));
  for (const LoraSite& s : model.lora_sites()) {
    a.fan_in_fan_out = s.layout == nn::WeightLayout::InOut;
    a.tensors.add(kPrefix + s.a, copy_of(model.params().get(s.a)));
    a.tensors.add(kPrefix + s.b, copy_of(model.params().get(s.b)));
  }
  add_head(model, a);
  a.vocab = model.config().vocab_size;
  a.base_vocab = info.base_vocab >= 0 ? info.base_vocab : a.vocab;
  a.base_rows_sha256 = info.base_rows_sha256;
  if (a.base_vocab > a.vocab)
    throw Error("adapter: base vocabulary " + std::to_string(a.base_vocab) +
                " exceeds the model's " + std::to_string(a.vocab));
  const int32_t head_role = model.architecture().role("output");
  for (nn::Parameter* p : {model.param(Wt{0, 0}), model.param(Wt{head_role, 0})}) {
    if (p == nullptr || a.vocab == a.base_vocab) continue;
    const std::string m = module_of(p->name);
    a.token_indices[leaf(m)] = range(a.base_vocab, a.vocab);
    a.tensors.add(delta_key(a.peft_type, m),
                  rows_of(p->value.f32(), a.base_vocab, a.vocab, p->cols()));
  }
  if (a.rank == 0 && a.token_indices.empty())
    throw Error("adapter: nothing to save (no LoRA adapters and no new embedding rows)");
  return a;
}

ojson peft_config_json(const PeftAdapter& a, const std::string& base_model) {
  ojson j = ojson::object();
  j["peft_type"] = a.peft_type;
  j["task_type"] = a.modules_to_save.empty() ? "CAUSAL_LM" : "SEQ_CLS";
  j["base_model_name_or_path"] = base_model;
  j["inference_mode"] = true;
  ojson targets = ojson::array();
  if (a.peft_type == "LORA") {
    j["r"] = a.rank;
    j["lora_alpha"] = json_float(a.alpha);
    j["lora_dropout"] = 0.0;
    j["bias"] = "none";
    j["fan_in_fan_out"] = a.fan_in_fan_out;
    j["use_rslora"] = false;
    j["use_dora"] = false;
    j["modules_to_save"] = nullptr;
    if (!a.modules_to_save.empty()) j["modules_to_save"] = a.modules_to_save;
    for (const std::string& t : a.target_modules) targets.push_back(t);
    j["target_modules"] = targets;
    // A list means the input embedding (tied heads follow it); a dict names each module.
    if (a.token_indices.size() == 1 && !a.token_indices.count("lm_head"))
      j["trainable_token_indices"] = a.token_indices.begin()->second;
    else if (!a.token_indices.empty())
      j["trainable_token_indices"] = a.token_indices;
  } else {
    for (const auto& [m, idx] : a.token_indices) targets.push_back(m);
    j["target_modules"] = targets;
    j["token_indices"] = a.token_indices.begin()->second;
    j["init_weights"] = true;
  }
  ojson& loom = j["loom"];
  loom["base_vocab_size"] = a.base_vocab;
  loom["vocab_size"] = a.vocab;
  if (!a.base_rows_sha256.empty()) loom["base_rows_sha256"] = a.base_rows_sha256;
  return j;
}

void save_peft_adapter(CausalLm& model, const std::string& dir, const PeftSaveInfo& info,
                       const std::map<std::string, std::string>& extra_files) {
  const PeftAdapter a = peft_adapter_of(model, info);
  ::mkdir(dir.c_str(), 0755);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(dir + ": cannot create the adapter folder");
  io::write_safetensors(dir + "/adapter_model.safetensors", a.tensors, {{"format", "pt"}});
  write_file_atomic(dir + "/adapter_config.json",
                    peft_config_json(a, info.base_model).dump(2) + "\n");
  for (const auto& [name, content] : extra_files) write_file_atomic(dir + "/" + name, content);
}

}  // namespace loom::models
