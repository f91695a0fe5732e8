#include "models/hf_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::models {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

// A float hyperparameter as the shortest decimal that reads back as the same float (1e-05, not
// 9.99999974738e-06), so config.json looks like the ones HF writes.
double clean_float(float v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  double d = 0;
  std::from_chars(buf, r.ptr, d);
  return d;
}

Tensor f32_copy(const Tensor& t) {
  if (t.dtype() == DType::F32) return t.clone();
  return t.to(DType::F32);
}

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

int32_t meta_id(const io::TensorMap& m, const char* gguf_key, const char* cfg_key, int32_t def) {
  if (const io::MetaValue* v = m.find_meta(gguf_key); v && v->is_number())
    return static_cast<int32_t>(v->number());
  if (const io::MetaValue* v = m.find_meta(cfg_key); v && v->is_number())
    return static_cast<int32_t>(v->number());
  return def;
}

void export_llama(const Model& model, HfModel& out) {
  const TransformerConfig& c = model.config();
  const io::TensorMap& w = model.weights();
  const bool hf = !w.has("token_embd.weight") && w.has("model.embed_tokens.weight");
  if (c.rope.rot_dim != c.head_dim) {
    w.fail("rope dimension " + std::to_string(c.rope.rot_dim) + " equal to the head size " +
           std::to_string(c.head_dim) + " (partial RoPE has no LlamaForCausalLM form)");
  }
  auto put = [&](const std::string& name, Tensor t) { out.tensors.add(name, std::move(t)); };
  if (hf) {
    put("model.embed_tokens.weight", f32_copy(w.get("model.embed_tokens.weight")));
  } else {
    put("model.embed_tokens.weight", f32_copy(w.get("token_embd.weight")));
  }
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const std::string g = "blk." + std::to_string(l) + ".";
    auto src = [&](const char* gguf, const char* hfn) -> const Tensor& {
      return hf ? w.get(p + hfn) : w.get(g + gguf);
    };
    put(p + "input_layernorm.weight", f32_copy(src("attn_norm.weight", "input_layernorm.weight")));
    if (hf) {
      put(p + "self_attn.q_proj.weight", f32_copy(w.get(p + "self_attn.q_proj.weight")));
      put(p + "self_attn.k_proj.weight", f32_copy(w.get(p + "self_attn.k_proj.weight")));
    } else {
      Tensor q = f32_copy(w.get(g + "attn_q.weight"));
      Tensor k = f32_copy(w.get(g + "attn_k.weight"));
      put(p + "self_attn.q_proj.weight", permute_rope_rows(q.view(), c.n_heads, true));
      put(p + "self_attn.k_proj.weight", permute_rope_rows(k.view(), c.n_kv_heads, true));
    }
    put(p + "self_attn.v_proj.weight", f32_copy(src("attn_v.weight", "self_attn.v_proj.weight")));
    put(p + "self_attn.o_proj.weight",
        f32_copy(src("attn_output.weight", "self_attn.o_proj.weight")));
    put(p + "post_attention_layernorm.weight",
        f32_copy(src("ffn_norm.weight", "post_attention_layernorm.weight")));
    put(p + "mlp.gate_proj.weight", f32_copy(src("ffn_gate.weight", "mlp.gate_proj.weight")));
    put(p + "mlp.up_proj.weight", f32_copy(src("ffn_up.weight", "mlp.up_proj.weight")));
    put(p + "mlp.down_proj.weight", f32_copy(src("ffn_down.weight", "mlp.down_proj.weight")));
  }
  put("model.norm.weight", f32_copy(w.get(hf ? "model.norm.weight" : "output_norm.weight")));
  if (!c.tied_head) put("lm_head.weight", f32_copy(w.get(hf ? "lm_head.weight" : "output.weight")));
}

void export_gpt2(const Model& model, HfModel& out) {
  const TransformerConfig& c = model.config();
  const io::TensorMap& w = model.weights();
  auto put = [&](const std::string& name, Tensor t) { out.tensors.add(name, std::move(t)); };
  if (w.has("token_embd.weight")) {
    put("transformer.wte.weight", f32_copy(w.get("token_embd.weight")));
    put("transformer.wpe.weight", f32_copy(w.get("position_embd.weight")));
    for (int64_t l = 0; l < c.n_layers; ++l) {
      const std::string p = "transformer.h." + std::to_string(l) + ".";
      const std::string g = "blk." + std::to_string(l) + ".";
      put(p + "ln_1.weight", f32_copy(w.get(g + "attn_norm.weight")));
      put(p + "ln_1.bias", f32_copy(w.get(g + "attn_norm.bias")));
      put(p + "attn.c_attn.weight", transposed(w.get(g + "attn_qkv.weight")));
      put(p + "attn.c_attn.bias", f32_copy(w.get(g + "attn_qkv.bias")));
      put(p + "attn.c_proj.weight", transposed(w.get(g + "attn_output.weight")));
      put(p + "attn.c_proj.bias", f32_copy(w.get(g + "attn_output.bias")));
      put(p + "ln_2.weight", f32_copy(w.get(g + "ffn_norm.weight")));
      put(p + "ln_2.bias", f32_copy(w.get(g + "ffn_norm.bias")));
      put(p + "mlp.c_fc.weight", transposed(w.get(g + "ffn_up.weight")));
      put(p + "mlp.c_fc.bias", f32_copy(w.get(g + "ffn_up.bias")));
      put(p + "mlp.c_proj.weight", transposed(w.get(g + "ffn_down.weight")));
      put(p + "mlp.c_proj.bias", f32_copy(w.get(g + "ffn_down.bias")));
    }
    put("transformer.ln_f.weight", f32_copy(w.get("output_norm.weight")));
    put("transformer.ln_f.bias", f32_copy(w.get("output_norm.bias")));
    if (!c.tied_head) put("lm_head.weight", f32_copy(w.get("output.weight")));
    return;
  }
  // Hugging Face names already; "transformer." may be missing (GPT2Model checkpoints).
  for (const std::string& name : w.names()) {
    const std::string mask_buf = ".attn.bias";
    if ((name.size() >= mask_buf.size() &&
         name.compare(name.size() - mask_buf.size(), mask_buf.size(), mask_buf) == 0) ||
        name.find("masked_bias") != std::string::npos) {
      continue;  // causal-mask buffers, not weights
    }
    if (name == "lm_head.weight") {
      if (!c.tied_head) put(name, f32_copy(w.get(name)));
      continue;
    }
    const bool prefixed = name.rfind("transformer.", 0) == 0;
    put(prefixed ? name : "transformer." + name, f32_copy(w.get(name)));
  }
}

}  // namespace

std::string HfModel::embed_name() const {
  return tensors.has("transformer.wte.weight") ? "transformer.wte.weight"
                                               : "model.embed_tokens.weight";
}

Tensor permute_rope_rows(const TensorView& w, int64_t heads, bool to_half_split) {
  LOOM_ASSERT(w.dtype() == DType::F32 && w.shape().rank() == 2, "f32 matrix");
  const int64_t rows = w.shape()[0], cols = w.shape()[1];
  LOOM_ASSERT(heads > 0 && rows % heads == 0 && (rows / heads) % 2 == 0, "rows = heads * even hd");
  const int64_t hd = rows / heads, half = hd / 2;
  Tensor out = Tensor::empty(Shape({rows, cols}));
  const size_t rb = static_cast<size_t>(cols) * sizeof(float);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t j = 0; j < hd; ++j) {
      const int64_t inter = j < half ? 2 * j : 2 * (j - half) + 1;  // interleaved index of j
      const int64_t half_row = h * hd + j, inter_row = h * hd + inter;
      const int64_t dst = to_half_split ? half_row : inter_row;
      const int64_t src = to_half_split ? inter_row : half_row;
      std::memcpy(out.view().row(dst), w.row(src), rb);
    }
  }
  return out;
}

nlohmann::ordered_json hf_config(const TransformerConfig& c, int32_t bos, int32_t eos) {
  ojson j;
  if (c.arch == "llama") {
    j["architectures"] = {"LlamaForCausalLM"};
    j["model_type"] = "llama";
    j["hidden_size"] = c.dim;
    j["intermediate_size"] = c.hidden_dim;
    j["num_attention_heads"] = c.n_heads;
    j["num_key_value_heads"] = c.n_kv_heads;
    j["num_hidden_layers"] = c.n_layers;
    if (c.head_dim * c.n_heads != c.dim) j["head_dim"] = c.head_dim;
    j["hidden_act"] = "silu";
    j["rms_norm_eps"] = clean_float(c.norm_eps);
    j["rope_theta"] = clean_float(c.rope.theta);
    j["max_position_embeddings"] = c.context_length;
    j["attention_bias"] = false;
  } else if (c.arch == "gpt2") {
    j["architectures"] = {"GPT2LMHeadModel"};
    j["model_type"] = "gpt2";
    j["n_embd"] = c.dim;
    j["n_head"] = c.n_heads;
    j["n_layer"] = c.n_layers;
    j["n_inner"] = c.hidden_dim;
    j["n_positions"] = c.context_length;
    j["n_ctx"] = c.context_length;
    j["layer_norm_epsilon"] = clean_float(c.norm_eps);
    j["activation_function"] = "gelu_new";
  } else {
    throw Error("hf export: architecture '" + c.arch + "' has no Hugging Face form here");
  }
  j["vocab_size"] = c.vocab_size;
  j["tie_word_embeddings"] = c.tied_head;
  j["bos_token_id"] = bos;
  j["eos_token_id"] = eos;
  j["torch_dtype"] = "float32";
  return j;
}

HfModel to_hf(const Model& model, const HfExportOptions& opts) {
  const TransformerConfig& c = model.config();
  const io::TensorMap& w = model.weights();
  HfModel out;
  out.tensors = io::TensorMap(w.source(), "safetensors");
  out.tied_head = c.tied_head;
  const bool llama = c.arch == "llama";
  if (llama) {
    export_llama(model, out);
  } else if (c.arch == "gpt2") {
    export_gpt2(model, out);
  } else {
    w.fail("architecture '" + c.arch + "' has no Hugging Face export");
  }
  int32_t bos = opts.bos_token_id >= 0 ? opts.bos_token_id
                                       : meta_id(w, "tokenizer.ggml.bos_token_id",
                                                 "config.bos_token_id", llama ? 1 : 50256);
  int32_t eos = opts.eos_token_id >= 0 ? opts.eos_token_id
                                       : meta_id(w, "tokenizer.ggml.eos_token_id",
                                                 "config.eos_token_id", llama ? 2 : 50256);
  out.config = hf_config(c, bos, eos);
  return out;
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
