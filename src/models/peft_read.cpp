// Reading a PEFT adapter directory and applying it to a base model (models/peft.h).
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "models/peft.h"
#include "models/peft_names.h"

namespace loom::models {

namespace {

using json = nlohmann::json;

std::string config_name(const std::string& dir) { return dir + "/adapter_config.json"; }

[[noreturn]] void bad(const PeftAdapter& a, const std::string& what) {
  throw Error(config_name(a.dir) + ": " + what);
}

// A list of token ids: non-negative integers, no repeats.
std::vector<int64_t> read_indices(const PeftAdapter& a, const json& v, const std::string& field) {
  if (!v.is_array()) bad(a, field + ": expected a list of token ids");
  std::vector<int64_t> out;
  std::set<int64_t> seen;
  for (const json& e : v) {
    if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > (int64_t{1} << 31))
      bad(a, field + ": expected token ids (integers >= 0), got " + e.dump());
    if (!seen.insert(e.get<int64_t>()).second)
      bad(a, field + ": token id " + e.dump() + " is listed twice");
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::vector<std::string> read_targets(const PeftAdapter& a, const json& j) {
  if (!j.contains("target_modules") || j["target_modules"].is_null()) return {};
  const json& t = j["target_modules"];
  if (t.is_string())
    bad(a, "target_modules: a regular expression (\"" + t.get<std::string>() +
               "\") is not supported; list the module names");
  if (!t.is_array()) bad(a, "target_modules: expected a list of module names");
  std::vector<std::string> out;
  for (const json& e : t) {
    if (!e.is_string() || e.get<std::string>().empty())
      bad(a, "target_modules: expected module names, got " + e.dump());
    out.push_back(e.get<std::string>());
  }
  return out;
}

// Settings Loom does not implement must be absent or at their neutral value.
void check_lora_settings(const PeftAdapter& a, const json& j) {
  auto off = [&](const char* key, const json& neutral) {
    if (j.contains(key) && !j[key].is_null() && j[key] != neutral)
      bad(a, std::string(key) + " " + j[key].dump() + " is not supported (expected " +
                 neutral.dump() + ")");
  };
  off("use_dora", false);
  off("use_rslora", false);
  off("bias", "none");
  off("rank_pattern", json::object());
  off("alpha_pattern", json::object());
  off("layers_to_transform", json());
}

// modules_to_save: null or a list of classification heads (the only modules Loom trains whole).
void read_modules_to_save(PeftAdapter& a, const json& j) {
  if (!j.contains("modules_to_save") || j["modules_to_save"].is_null()) return;
  const json& m = j["modules_to_save"];
  if (!m.is_array()) bad(a, "modules_to_save: expected a list of module names");
  for (const json& e : m) {
    if (!e.is_string() || !peft::is_head_module(e.get<std::string>()))
      bad(a, "modules_to_save: " + e.dump() +
                 " is not supported (only a classification head: \"score\" or \"classifier\")");
    a.modules_to_save.push_back(e.get<std::string>());
  }
}

void read_lora(PeftAdapter& a, const json& j) {
  check_lora_settings(a, j);
  read_modules_to_save(a, j);
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int64_t>() <= 0 ||
      j["r"].get<int64_t>() > 65536)
    bad(a, "r: expected the LoRA rank, an integer in 1..65536");
  a.rank = j["r"].get<int64_t>();
  const json alpha = j.contains("lora_alpha") ? j["lora_alpha"] : json(8);  // PEFT's default
  if (!alpha.is_number() || !(alpha.get<double>() > 0) || alpha.get<double>() > 1e6)
    bad(a, "lora_alpha: expected a positive number");
  a.alpha = alpha.get<float>();
  a.fan_in_fan_out = j.contains("fan_in_fan_out") && j["fan_in_fan_out"].is_boolean() &&
                     j["fan_in_fan_out"].get<bool>();
  a.target_modules = read_targets(a, j);
  if (!j.contains("trainable_token_indices") || j["trainable_token_indices"].is_null()) return;
  const json& t = j["trainable_token_indices"];
  if (t.is_array()) {
    a.token_indices[""] = read_indices(a, t, "trainable_token_indices");
  } else if (t.is_object()) {
    for (const auto& [m, v] : t.items())
      a.token_indices[m] = read_indices(a, v, "trainable_token_indices." + m);
  } else {
    bad(a, "trainable_token_indices: expected a list of token ids or {module: [ids]}");
  }
}

void read_trainable_tokens(PeftAdapter& a, const json& j) {
  if (!j.contains("token_indices")) bad(a, "token_indices: missing");
  const std::vector<int64_t> idx = read_indices(a, j["token_indices"], "token_indices");
  std::vector<std::string> targets = read_targets(a, j);
  if (targets.empty()) targets.push_back("");  // PEFT: the input embedding
  for (const std::string& m : targets) a.token_indices[m] = idx;
}

void read_loom_fields(PeftAdapter& a, const json& j) {
  if (!j.contains("loom")) return;
  const json& l = j["loom"];
  auto size = [&](const char* key) -> int64_t {
    if (!l.contains(key)) return -1;
    if (!l[key].is_number_integer() || l[key].get<int64_t>() <= 0 ||
        l[key].get<int64_t>() > (int64_t{1} << 31))
      bad(a, std::string("loom.") + key + ": expected a vocabulary size, got " + l[key].dump());
    return l[key].get<int64_t>();
  };
  if (!l.is_object()) bad(a, "loom: expected an object");
  a.base_vocab = size("base_vocab_size");
  a.vocab = size("vocab_size");
  if (a.base_vocab > 0 && a.vocab > 0 && a.base_vocab > a.vocab)
    bad(a, "loom.base_vocab_size exceeds loom.vocab_size");
  if (l.contains("base_rows_sha256")) {
    const json& s = l["base_rows_sha256"];
    if (!s.is_string() || s.get<std::string>().size() != 64)
      bad(a, "loom.base_rows_sha256: expected 64 hex digits");
    a.base_rows_sha256 = s.get<std::string>();
  }
}

}  // namespace

PeftAdapter parse_peft_adapter(const std::string& config_text, io::TensorMap tensors,
                               const std::string& dir) {
  PeftAdapter a;
  a.dir = dir;
  const json j = json::parse(config_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad(a, "not a JSON object");
  if (!j.contains("peft_type") || !j["peft_type"].is_string()) bad(a, "peft_type: missing");
  a.peft_type = j["peft_type"].get<std::string>();
  if (a.peft_type == "LORA")
    read_lora(a, j);
  else if (a.peft_type == "TRAINABLE_TOKENS")
    read_trainable_tokens(a, j);
  else
    bad(a, "peft_type \"" + a.peft_type + "\" is not supported (LORA or TRAINABLE_TOKENS)");
  if (j.contains("task_type") && j["task_type"].is_string() && j["task_type"] != "CAUSAL_LM" &&
      j["task_type"] != "SEQ_CLS")
    bad(a, "task_type " + j["task_type"].dump() + ": expected \"CAUSAL_LM\" or \"SEQ_CLS\"");
  read_loom_fields(a, j);
  if (a.rank == 0 && a.token_indices.empty()) bad(a, "the adapter changes nothing");
  a.tensors = std::move(tensors);
  return a;
}

PeftAdapter read_peft_adapter(const std::string& dir) {
  const std::string cfg = config_name(dir);
  std::string text;
  try {
    text = read_file(cfg);
  } catch (const Error&) {
    throw Error(cfg + ": cannot read the adapter config (is " + dir +
                " a PEFT adapter directory?)");
  }
  return parse_peft_adapter(text, io::read_safetensors(dir + "/adapter_model.safetensors"), dir);
}

std::shared_ptr<const Model> build_hf_model(const HfModel& m) {
  // Tensors (shared, not copied) and config.json as a directory would hold them.
  io::TensorMap map(m.source, "safetensors");
  for (const std::string& name : m.tensors.names()) map.add(name, m.tensors.get(name));
  io::add_config_json(map, m.config_json.dump(), m.source + " config.json");
  return build_model(std::move(map));
}

}  // namespace loom::models
