#include "train/hf_checkpoint.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "models/hf_export.h"
#include "models/transformer.h"

namespace loom::train {

namespace {

using json = nlohmann::json;

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

int64_t field(const json& j, const std::string& name, const char* key, int64_t def, bool required) {
  if (!j.contains(key)) {
    if (required) throw Error(name + ": field '" + key + "' is missing");
    return def;
  }
  const json& v = j[key];
  if (!v.is_number_integer() && !v.is_number_unsigned())
    throw Error(name + ": field '" + key + "' must be an integer");
  const int64_t x = v.get<int64_t>();
  if (x <= 0 || x > (int64_t{1} << 24))
    throw Error(name + ": field '" + key + "' must be in 1..2^24, got " + std::to_string(x));
  return x;
}

double number(const json& j, const std::string& name, const char* key, double def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_number()) throw Error(name + ": field '" + key + "' must be a number");
  return j[key].get<double>();
}

// A float as the shortest decimal that reads back to it (1e-05, not 9.99999974738e-06).
double clean(float x) {
  char b[32];
  for (int prec = 6; prec < 10; ++prec) {
    std::snprintf(b, sizeof b, "%.*g", prec, static_cast<double>(x));
    if (std::strtof(b, nullptr) == x) break;
  }
  return std::strtod(b, nullptr);
}

}  // namespace

nn::CausalLmConfig causal_lm_config_from_json(const std::string& text, const std::string& name,
                                              int64_t* base_vocab_size) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(name + ": invalid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw Error(name + ": expected a JSON object");
  std::string arch;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
      j["architectures"][0].is_string())
    arch = j["architectures"][0].get<std::string>();
  else if (j.contains("model_type") && j["model_type"].is_string())
    arch = j["model_type"].get<std::string>();
  nn::CausalLmConfig c;
  if (arch == "LlamaForCausalLM" || arch == "llama") {
    c.arch = nn::Arch::Llama;
    c.d_model = field(j, name, "hidden_size", 0, true);
    c.d_ff = field(j, name, "intermediate_size", 0, true);
    c.n_layers = field(j, name, "num_hidden_layers", 0, true);
    c.n_heads = field(j, name, "num_attention_heads", 0, true);
    c.n_kv_heads = field(j, name, "num_key_value_heads", c.n_heads, false);
    c.max_seq = field(j, name, "max_position_embeddings", 2048, false);
    c.norm_eps = static_cast<float>(number(j, name, "rms_norm_eps", 1e-6));
    c.rope_theta = static_cast<float>(number(j, name, "rope_theta", 10000.0));
    // Inference honours rope_scaling (linear, llama3); the trainable model does not yet, and
    // training with plain RoPE would silently change what the model computes.
    if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
      const json& rs = j["rope_scaling"];
      std::string kind = "unknown";
      for (const char* k : {"rope_type", "type"})
        if (rs.contains(k) && rs[k].is_string()) kind = rs[k].get<std::string>();
      if (kind != "default")
        throw Error(name + ": field 'rope_scaling' (" + kind +
                    "): training a model with rope scaling is not supported yet");
    }
    c.tie_embeddings = j.contains("tie_word_embeddings") && j["tie_word_embeddings"].is_boolean() &&
                       j["tie_word_embeddings"].get<bool>();
    if (j.contains("head_dim") && !j["head_dim"].is_null() &&
        field(j, name, "head_dim", 0, true) * c.n_heads != c.d_model)
      throw Error(name + ": field 'head_dim' must be hidden_size / num_attention_heads");
  } else if (arch == "GPT2LMHeadModel" || arch == "gpt2") {
    c.arch = nn::Arch::Gpt2;
    c.d_model = field(j, name, "n_embd", 0, true);
    c.n_layers = field(j, name, "n_layer", 0, true);
    c.n_heads = field(j, name, "n_head", 0, true);
    c.n_kv_heads = c.n_heads;
    c.max_seq = field(j, name, "n_positions", 1024, false);
    c.d_ff = j.contains("n_inner") && !j["n_inner"].is_null() ? field(j, name, "n_inner", 0, true)
                                                              : 4 * c.d_model;
    c.norm_eps = static_cast<float>(number(j, name, "layer_norm_epsilon", 1e-5));
    c.tie_embeddings = true;
  } else {
    throw Error(name + ": architecture '" + arch +
                "' is not trainable here (expected LlamaForCausalLM or GPT2LMHeadModel)");
  }
  c.vocab_size = field(j, name, "vocab_size", 0, true);
  if (base_vocab_size) {
    *base_vocab_size = -1;
    if (j.contains("loom_extension") && j["loom_extension"].is_object() &&
        j["loom_extension"].contains("base_vocab_size"))
      *base_vocab_size =
          field(j["loom_extension"], name + " loom_extension", "base_vocab_size", 0, true);
  }
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(name + ": " + e.what());
  }
  return c;
}

HfTrainModel read_hf_model(const std::string& path) {
  HfTrainModel m;
  m.source = path;
  const bool safetensors =
      is_dir(path) || (path.size() > 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0);
  if (!safetensors) {
    // GGUF or llama2.c .bin: through the inference loader and its Hugging Face export (q/k rows
    // permuted to the half-split RoPE order).
    models::HfModel hf = models::to_hf(*models::load_model(path));
    m.config_json = hf.config.dump(1);
    m.config =
        causal_lm_config_from_json(m.config_json, path + " (exported config)", &m.base_vocab_size);
    m.weights = std::move(hf.tensors);
    return m;
  }
  const std::string st = is_dir(path) ? path + "/model.safetensors" : path;
  const std::string dir = st.find('/') == std::string::npos ? "." : st.substr(0, st.rfind('/'));
  const std::string cfg_path = dir + "/config.json";
  if (!exists(cfg_path))
    throw Error(path +
                ": no config.json beside the weights (a Hugging Face model directory has "
                "model.safetensors + config.json)");
  m.config_json = read_file(cfg_path);
  m.config = causal_lm_config_from_json(m.config_json, cfg_path, &m.base_vocab_size);
  m.weights = io::read_safetensors(st);
  if (m.config.arch == nn::Arch::Llama && !m.config.tie_embeddings &&
      !m.weights.has("lm_head.weight"))
    m.config.tie_embeddings = true;  // no head tensor: the head is the embedding
  const char* emb = m.config.arch == nn::Arch::Gpt2 ? "wte.weight" : "model.embed_tokens.weight";
  const Tensor* e = nullptr;
  for (const std::string& n : {std::string("transformer.") + emb, std::string(emb)})
    if ((e = m.weights.find(n))) break;
  if (!e) m.weights.fail(std::string("a token embedding '") + emb + "'");
  if (e->shape().rank() != 2 || e->shape()[0] != m.config.vocab_size)
    throw Error(st + ": the token embedding has shape " + e->shape().str() +
                " but config.json says vocab_size " + std::to_string(m.config.vocab_size));
  if (m.base_vocab_size > m.config.vocab_size)
    throw Error(cfg_path + ": loom_extension.base_vocab_size " + std::to_string(m.base_vocab_size) +
                " exceeds vocab_size " + std::to_string(m.config.vocab_size));
  return m;
}

void load_hf_weights(nn::CausalLm& model, const io::TensorMap& weights) {
  for (const auto& p : model.params().params()) {
    if (model.is_lora_param(p->name)) continue;
    std::string name = p->name;
    if (!weights.has(name) && name.rfind("transformer.", 0) == 0 && weights.has(name.substr(12)))
      name = name.substr(12);
    const Tensor& t = weights.get(name, p->shape);
    Tensor f = t.dtype() == DType::F32 ? t : t.to(DType::F32);
    std::memcpy(p->value.f32(), f.data(), static_cast<size_t>(p->numel()) * sizeof(float));
  }
}

std::string hf_config_json(const nn::CausalLmConfig& c, const std::string& base) {
  json j = json::parse(base.empty() ? "{}" : base);
  if (c.arch == nn::Arch::Llama) {
    j["architectures"] = {"LlamaForCausalLM"};
    j["model_type"] = "llama";
    j["hidden_size"] = c.d_model;
    j["intermediate_size"] = c.d_ff;
    j["num_hidden_layers"] = c.n_layers;
    j["num_attention_heads"] = c.n_heads;
    j["num_key_value_heads"] = c.n_kv_heads;
    j["max_position_embeddings"] = c.max_seq;
    j["rms_norm_eps"] = clean(c.norm_eps);
    j["rope_theta"] = clean(c.rope_theta);
    j["tie_word_embeddings"] = c.tie_embeddings;
    if (!j.contains("hidden_act")) j["hidden_act"] = "silu";
  } else {
    j["architectures"] = {"GPT2LMHeadModel"};
    j["model_type"] = "gpt2";
    j["n_embd"] = c.d_model;
    j["n_layer"] = c.n_layers;
    j["n_head"] = c.n_heads;
    j["n_positions"] = c.max_seq;
    j["n_inner"] = c.d_ff;
    j["layer_norm_epsilon"] = clean(c.norm_eps);
    if (!j.contains("activation_function")) j["activation_function"] = "gelu_new";
  }
  j["vocab_size"] = c.vocab_size;
  return j.dump(1) + "\n";
}

void save_hf_model(nn::CausalLm& model, const std::string& dir, const std::string& base_config) {
  ::mkdir(dir.c_str(), 0755);
  if (!is_dir(dir)) throw Error(dir + ": cannot create the output directory");
  io::TensorMap out(dir + "/model.safetensors", "safetensors");
  for (const auto& p : model.params().params()) {
    if (model.is_lora_param(p->name)) continue;
    Tensor t = Tensor::empty(p->shape, DType::F32);
    const std::vector<float> v = model.merged_value(p->name);
    std::memcpy(t.data(), v.data(), v.size() * sizeof(float));
    out.add(p->name, std::move(t));
  }
  io::write_safetensors(dir + "/model.safetensors", out, {{"format", "pt"}});
  write_file_atomic(dir + "/config.json", hf_config_json(model.config(), base_config));
}

}  // namespace loom::train
