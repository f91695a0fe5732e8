// Internal to models/peft*.cpp: PEFT's tensor-name rules and small tensor helpers.
#pragma once

#include <string>

#include "core/tensor.h"

namespace loom::models::peft {

// PeftModel wraps LoraModel (or TrainableTokensModel) which wraps the Hugging Face model, so
// every saved key starts with this.
inline constexpr const char* kPrefix = "base_model.model.";

// "model.layers.0.self_attn.q_proj.weight" -> "model.layers.0.self_attn.q_proj"
inline std::string module_of(const std::string& weight_name) {
  const size_t dot = weight_name.rfind('.');
  return dot == std::string::npos ? weight_name : weight_name.substr(0, dot);
}
// "model.layers.0.self_attn.q_proj" -> "q_proj"
inline std::string leaf(const std::string& module) {
  const size_t dot = module.rfind('.');
  return dot == std::string::npos ? module : module.substr(dot + 1);
}
// PEFT's target matching (check_target_module_exists for a list): the module's full name equals
// the target or ends with "." + target.
inline bool matches(const std::string& module, const std::string& target) {
  const size_t n = module.size(), k = target.size();
  return module == target ||
         (n > k && module.compare(n - k, k, target) == 0 && module[n - k - 1] == '.');
}
// The key of a trainable-token tensor: LoRA's trainable_token_indices wrap the layer
// (TrainableTokensWrapper.token_adapter); peft_type TRAINABLE_TOKENS replaces the layer.
inline std::string delta_key(const std::string& peft_type, const std::string& module) {
  return kPrefix + module + (peft_type == "LORA" ? ".token_adapter." : ".") +
         "trainable_tokens_delta";
}
// The classification heads a PEFT adapter may carry whole (modules_to_save): transformers'
// *ForSequenceClassification names (CausalLm's score_head()).
inline bool is_head_module(const std::string& module) {
  return module == "score" || module == "classifier";
}
inline Tensor f32_copy(const Tensor& t) {
  return t.dtype() == DType::F32 ? t.clone() : t.to(DType::F32);
}

}  // namespace loom::models::peft
