#include "models/hf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"
#include "models/causal_lm.h"
#include "models/loader_util.h"

namespace loom::models {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

// (r, c) -> (c, r), f32.
Tensor transposed(const Tensor& t) {
  Tensor src = t.dtype() == DType::F32 ? t : t.to(DType::F32);
  LOOM_ASSERT(src.shape().rank() == 2, "transpose of a matrix");
  const int64_t r = src.shape()[0], c = src.shape()[1];
  Tensor out = Tensor::empty(Shape({c, r}));
  const float* s = src.f32();
  float* d = out.f32();
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) d[j * r + i] = s[i * c + j];
  return out;
}

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Tensor convert_layout(const Tensor& t, const TensorSpec& s, const DecoderConfig& c, bool to_hf) {
  if (s.hf_in_out) return transposed(t);
  Tensor f = t.dtype() == DType::F32 ? t.clone() : t.to(DType::F32);
  if (s.rope_heads == 0) return f;
  return permute_rope_rows(f.view(), s.rope_heads == 1 ? c.n_heads : c.n_kv_heads, to_hf);
}

std::string HfModel::embed_name() const {
  return tensor_name(architecture(config.arch).tensors()[0], 0, true);
}

HfModel to_hf(io::TensorMap map) {
  const Architecture& a = architecture_of(map);
  HfModel out;
  out.source = map.source();
  out.config = read_config(a, map);
  const bool hf = has_hf_names(a, map);
  if (!hf && out.config.rope.rot_dim != 0 && out.config.rope.rot_dim != out.config.head_dim)
    map.fail("rope dimension " + std::to_string(out.config.rope.rot_dim) +
             " equal to the head size " + std::to_string(out.config.head_dim) +
             " (partial RoPE has no Hugging Face form)");
  out.tensors = io::TensorMap(map.source(), "safetensors");
  for (const TensorSpec& s : a.tensors()) {
    for (int64_t l = 0; l < layer_count(s, out.config); ++l) {
      const Tensor* t = find_tensor(map, s, l, hf);
      if (t == nullptr) {
        if (s.optional) continue;
        map.get(tensor_name(s, l, hf));  // throws: missing tensor, named
      }
      if (!tensor_present(s, out.config)) continue;
      out.tensors.add(tensor_name(s, l, true), hf ? *t : convert_layout(*t, s, out.config, true));
    }
  }
  // A sequence-classification head (transformers' *ForSequenceClassification) is outside the
  // spec: it rides along as stored, so a fine-tuned or reward model continues with its head.
  for (const char* head : {"score.weight", "classifier.weight", "classifier.bias"})
    if (hf && map.has(head)) out.tensors.add(head, map.get(head));
  out.config.rope.style = RopeStyle::HalfSplit;
  if (out.config.rope.scaling.empty() && !out.config.rope.freq_factors.empty())
    map.fail(
        "tensor 'rope_freqs.weight': its frequency factors are not Llama 3's (no llama3 "
        "rope_scaling reproduces them to 1e-6), so config.json cannot describe this model");
  for (const auto& [key, value] : map.meta())
    if (!hf && key.rfind("tokenizer.ggml.", 0) == 0) out.gguf_tokenizer[key] = value;
  out.config_json = config_json(out.config, hf ? config_from_meta(map) : ojson::object());
  return out;
}

HfModel read_hf_model(const std::string& path) {
  const bool safetensors =
      is_dir(path) || (path.size() > 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0);
  io::TensorMap map = io::read_model_file(path);
  if (safetensors && !map.has_meta("config.architectures") && !map.has_meta("config.model_type"))
    throw Error(path +
                ": no config.json beside the weights (a Hugging Face model directory has "
                "model.safetensors + config.json)");
  return to_hf(std::move(map));
}

void load_hf_weights(CausalLm& model, const io::TensorMap& weights) {
  for (const auto& p : model.params().params()) {
    if (model.is_lora_param(p->name)) continue;
    // A classification head absent from a language model's weights keeps its values (init_score).
    const bool head = p.get() == model.score_head() || p.get() == model.score_bias();
    if (head && !weights.has(p->name)) continue;
    const std::string name = detail::stored_name(weights, p->name);
    const Tensor& t = weights.get(name, p->shape);
    Tensor f = t.dtype() == DType::F32 ? t : t.to(DType::F32);
    std::memcpy(p->value.f32(), f.data(), static_cast<size_t>(p->numel()) * sizeof(float));
  }
}

io::TensorMap hf_tensors(CausalLm& model, const std::string& source) {
  io::TensorMap out(source, "safetensors");
  for (const auto& p : model.params().params()) {
    if (model.is_lora_param(p->name)) continue;
    Tensor t = Tensor::empty(p->shape, DType::F32);
    const std::vector<float> v = model.merged_value(p->name);
    std::memcpy(t.data(), v.data(), v.size() * sizeof(float));
    out.add(p->name, std::move(t));
  }
  return out;
}

namespace {

// A model with a classification head is transformers' <Family>ForSequenceClassification
// (BertForMaskedLM -> BertForSequenceClassification, GPT2LMHeadModel ->
// GPT2ForSequenceClassification), its label count in id2label/label2id: base's when they have
// one name per label, LABEL_<i> (transformers' default) otherwise.
void describe_head(CausalLm& model, ojson& j) {
  const nn::Parameter* head = model.score_head();
  if (!head) return;
  std::string cls = model.architecture().hf_class();
  for (const char* suffix : {"ForMaskedLM", "ForCausalLM", "LMHeadModel"})
    if (const size_t at = cls.find(suffix); at != std::string::npos) cls = cls.substr(0, at);
  j["architectures"] = {cls + "ForSequenceClassification"};
  const auto labels = static_cast<size_t>(head->shape[0]);
  if (j.contains("id2label") && j["id2label"].is_object() && j["id2label"].size() == labels &&
      j.contains("label2id") && j["label2id"].is_object() && j["label2id"].size() == labels)
    return;
  j["id2label"] = ojson::object();
  j["label2id"] = ojson::object();
  for (size_t i = 0; i < labels; ++i) {
    j["id2label"][std::to_string(i)] = "LABEL_" + std::to_string(i);
    j["label2id"]["LABEL_" + std::to_string(i)] = i;
  }
}

}  // namespace

void save_hf_model(CausalLm& model, const std::string& dir, const ojson& base) {
  ::mkdir(dir.c_str(), 0755);
  if (!is_dir(dir)) throw Error(dir + ": cannot create the output directory");
  io::write_safetensors(dir + "/model.safetensors", hf_tensors(model, dir + "/model.safetensors"),
                        {{"format", "pt"}});
  ojson j = config_json(model.config(), base);
  describe_head(model, j);
  write_file_atomic(dir + "/config.json", j.dump(1) + "\n");
}

namespace {

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::atomic<uint64_t> g_tmp_counter{0};

}  // namespace

void save_hf_directory(const std::string& dir, const io::TensorMap& tensors, const ojson& config,
                       const std::map<std::string, std::string>& extra) {
  if (dir.empty()) throw Error("model directory: an output path is required");
  for (const auto& [name, content] : extra) {
    if (name.empty() || name.find('/') != std::string::npos || name == "model.safetensors" ||
        name == "config.json" || name == "." || name == "..") {
      throw Error(dir + ": extra file name '" + name + "' is not a plain file name of its own");
    }
  }
  std::error_code ec;
  fs::path target = fs::path(dir);
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec) || !fs::is_empty(target, ec)) {
      throw Error(dir + ": exists and is not an empty folder (choose a new output directory)");
    }
  }
  fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (target.filename().empty()) {  // "out/" -> parent of "out"
    target = target.parent_path();
    parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  }
  fs::create_directories(parent, ec);
  if (ec) throw Error(dir + ": cannot create the parent folder (" + ec.message() + ")");
  std::string tmp_name = ".";
  tmp_name += target.filename().string();
  tmp_name +=
      ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(g_tmp_counter.fetch_add(1));
  const std::string tmp = (parent / tmp_name).string();
  if (::mkdir(tmp.c_str(), 0755) != 0) {
    throw Error(tmp + ": cannot create the temporary folder (" + std::strerror(errno) + ")");
  }
  try {
    io::write_safetensors(tmp + "/model.safetensors", tensors, {{"format", "pt"}});
    write_file_atomic(tmp + "/config.json", config.dump(2) + "\n");
    for (const auto& [name, content] : extra) write_file_atomic(tmp + "/" + name, content);
    fsync_path(tmp);
    if (std::rename(tmp.c_str(), target.c_str()) != 0) {
      throw Error(dir + ": cannot move the finished folder into place (" + std::strerror(errno) +
                  ")");
    }
    fsync_path(parent.string());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace loom::models
