// Applying a PEFT adapter to a base model in Hugging Face form (models/peft.h): the way
// resize_token_embeddings + PeftModel.from_pretrained + merge_and_unload would leave it.
#include <algorithm>
#include <cstring>
#include <set>

#include "core/error.h"
#include "models/peft.h"
#include "models/peft_names.h"
#include "nn/lora.h"

namespace loom::models {

namespace {

using peft::f32_copy;
using peft::kPrefix;
using peft::matches;
using peft::module_of;

[[noreturn]] void bad(const PeftAdapter& a, const std::string& what) {
  throw Error(a.dir + "/adapter_config.json: " + what);
}

// The adapter's tensor `name` with `shape`, as f32; marks it used.
Tensor take(const PeftAdapter& a, const std::string& name, Shape shape,
            std::set<std::string>& used) {
  used.insert(name);
  return f32_copy(a.tensors.get(name, shape));
}

struct Sizes {
  int64_t base = 0, vocab = 0;
};

// The base vocabulary the adapter was made for (checked against the model and its rows' sha256)
// and the vocabulary it grows to.
Sizes adapter_sizes(const HfModel& base, const PeftAdapter& a) {
  Sizes s{base.config.vocab_size, base.config.vocab_size};
  // A base already grown to the adapter's vocabulary (the extended model a run started from):
  // its rows from base_vocab on are the ones the adapter replaces.
  if (a.base_vocab > 0 && a.vocab > a.base_vocab && s.base == a.vocab) s.base = a.base_vocab;
  if (a.base_vocab > 0 && a.base_vocab != s.base)
    throw Error(base.source + ": the base model has " + std::to_string(s.base) +
                " tokens but the adapter " + a.dir + " was made for a base of " +
                std::to_string(a.base_vocab) + " (loom.base_vocab_size)");
  if (!a.base_rows_sha256.empty()) {
    const std::string got = embedding_rows_sha256(base, s.base);
    if (got != a.base_rows_sha256)
      throw Error(a.dir + "/adapter_config.json: loom.base_rows_sha256 " + a.base_rows_sha256 +
                  " does not match the base model " + base.source + " (its rows [0, " +
                  std::to_string(s.base) + ") hash to " + got +
                  "): the adapter was trained on another base");
  }
  int64_t top = 0;
  for (const auto& [m, idx] : a.token_indices)
    for (int64_t i : idx) top = std::max(top, i + 1);
  s.vocab = a.vocab > 0 ? a.vocab : std::max(s.base, top);
  if (s.vocab < s.base) bad(a, "loom.vocab_size is smaller than the base model's vocabulary");
  if (top > s.vocab)
    bad(a, "token id " + std::to_string(top - 1) + " is outside the adapter's vocabulary of " +
               std::to_string(s.vocab));
  // Every new row needs an index (checked row by row in grown()); this bound comes first so a
  // vocabulary size alone never allocates.
  for (const auto& [m, idx] : a.token_indices)
    if (s.vocab - s.base > static_cast<int64_t>(idx.size()))
      bad(a, "token ids [" + std::to_string(s.base) + ", " + std::to_string(s.vocab) +
                 ") are new rows but only " + std::to_string(idx.size()) +
                 " are among the indices");
  if (s.vocab > s.base && a.token_indices.empty())
    bad(a, "vocabulary " + std::to_string(s.vocab) + " but no trainable token indices");
  return s;
}

// A (vocab, dim) copy of old with the adapter's rows at their indices; every new row [base,
// vocab) must be one of them (else it would be left undefined, as resize would leave it random).
Tensor grown(const PeftAdapter& a, const Tensor& old, const Sizes& s,
             const std::vector<int64_t>& idx, const Tensor& rows, const std::string& field) {
  const int64_t dim = old.shape()[1];
  const Tensor o = f32_copy(old);
  Tensor t = Tensor::zeros(Shape{s.vocab, dim});
  std::memcpy(t.f32(), o.f32(), static_cast<size_t>(s.base * dim) * sizeof(float));
  std::vector<bool> set(static_cast<size_t>(s.vocab), false);
  for (size_t r = 0; r < idx.size(); ++r) {
    std::memcpy(t.f32() + idx[r] * dim, rows.f32() + static_cast<int64_t>(r) * dim,
                static_cast<size_t>(dim) * sizeof(float));
    set[static_cast<size_t>(idx[r])] = true;
  }
  for (int64_t i = s.base; i < s.vocab; ++i)
    if (!set[static_cast<size_t>(i)])
      bad(a, field + ": token id " + std::to_string(i) +
                 " is a new row of the grown vocabulary but not among the indices");
  return t;
}

void grow_token_rows(HfModel& base, const PeftAdapter& a, const Sizes& s,
                     std::set<std::string>& used, std::map<std::string, Tensor>& changed) {
  const std::string embed = module_of(base.embed_name()), head = module_of(base.head_name());
  std::map<std::string, std::pair<std::string, const std::vector<int64_t>*>> by_weight;
  for (const auto& [key, idx] : a.token_indices) {
    const std::string field = a.peft_type == "LORA" ? "trainable_token_indices" : "target_modules";
    std::string m = key.empty() || matches(embed, key) ? embed : matches(head, key) ? head : "";
    if (m.empty())
      bad(a, field + ": unknown module '" + key + "' (expected " + embed + " or " + head + ")");
    if (m == head && base.config.tied_head)
      bad(a, field + ": '" + key + "' but the base model ties its head to " + embed);
    by_weight[m + ".weight"] = {field + (key.empty() ? "" : "." + key), &idx};
  }
  if (s.vocab > s.base && !base.config.tied_head && !by_weight.count(base.head_name()))
    bad(a, "the base model's head is untied: " + head +
               " needs trainable token rows for the new token ids too");
  for (const std::string& w : {base.embed_name(), base.head_name()}) {
    if (w == base.head_name() && base.config.tied_head) continue;
    const Tensor& old = base.tensors.get(w);
    auto it = by_weight.find(w);
    if (it == by_weight.end()) {
      if (s.vocab > s.base) bad(a, "no trainable token rows for " + module_of(w));
      continue;
    }
    const auto& idx = *it->second.second;
    const std::string key = peft::delta_key(a.peft_type, module_of(w));
    const Tensor rows = take(a, key, Shape{static_cast<int64_t>(idx.size()), old.shape()[1]}, used);
    changed[w] = grown(a, old, s, idx, rows, it->second.first);
  }
}

// The LoRA-capable modules of every layer the targets select, as (spec, layer); a target that
// selects none is an unknown module.
std::vector<std::pair<const TensorSpec*, int64_t>> lora_sites(const HfModel& base,
                                                              const PeftAdapter& a) {
  const Architecture& arch = architecture(base.config.arch);
  std::vector<std::pair<const TensorSpec*, int64_t>> out;
  std::set<std::string> hit;
  std::string known;
  for (const TensorSpec& t : arch.tensors()) {
    if (!t.per_layer || t.lora == nullptr) continue;
    const std::string m0 = module_of(tensor_name(t, 0, true));
    known += (known.empty() ? "" : ", ") + m0.substr(m0.rfind('.') + 1);
    for (int64_t l = 0; l < base.config.n_layers; ++l) {
      const std::string m = module_of(tensor_name(t, l, true));
      bool take_it = false;
      for (const std::string& target : a.target_modules)
        if (matches(m, target)) {
          hit.insert(target);
          take_it = true;
        }
      if (take_it) out.push_back({&t, l});
    }
  }
  for (const std::string& target : a.target_modules)
    if (!hit.count(target))
      bad(a, "target_modules: unknown module '" + target + "' for " + arch.name() +
                 " (LoRA targets: " + known + ")");
  return out;
}

void merge_lora_sites(HfModel& base, const PeftAdapter& a, std::set<std::string>& used,
                      std::map<std::string, Tensor>& changed) {
  for (const auto& [t, l] : lora_sites(base, a)) {
    const std::string w = tensor_name(*t, l, true), m = module_of(w);
    const Shape hs = t->hf_shape(base.config);
    const int64_t in = t->hf_in_out ? hs[0] : hs[1], out = t->hf_in_out ? hs[1] : hs[0];
    const Tensor A = take(a, kPrefix + m + ".lora_A.weight", Shape{a.rank, in}, used);
    const Tensor B = take(a, kPrefix + m + ".lora_B.weight", Shape{out, a.rank}, used);
    Tensor W = f32_copy(base.tensors.get(w, hs));
    nn::merge_lora(W.f32(), t->hf_in_out ? nn::WeightLayout::InOut : nn::WeightLayout::OutIn,
                   A.f32(), B.f32(), out, in, a.rank, a.scale());
    changed[w] = std::move(W);
  }
}

// The modules_to_save heads, whole: weight (labels, dim) and an optional bias (labels), into
// changed (the base has the tensor) or added (it has not: a language model given a head).
void put_heads(const HfModel& base, const PeftAdapter& a, std::set<std::string>& used,
               std::map<std::string, Tensor>& changed, std::map<std::string, Tensor>& added) {
  for (const std::string& m : a.modules_to_save) {
    const std::string w = kPrefix + m + ".weight", b = kPrefix + m + ".bias";
    const Tensor* t = a.tensors.find(w);
    if (t == nullptr) bad(a, "modules_to_save: '" + m + "' but the adapter has no tensor " + w);
    const Shape s = t->shape();
    if (s.rank() != 2 || s[0] < 1 || s[1] != base.config.dim)
      bad(a,
          "modules_to_save: " + w + " must be (labels, " + std::to_string(base.config.dim) + ")");
    std::map<std::string, Tensor> head;
    head[m + ".weight"] = take(a, w, s, used);
    if (a.tensors.has(b)) head[m + ".bias"] = take(a, b, Shape{s[0]}, used);
    for (auto& [name, value] : head) (base.tensors.has(name) ? changed : added)[name] = value;
  }
}

io::TensorMap replaced(const io::TensorMap& m, std::map<std::string, Tensor>& changed) {
  io::TensorMap out(m.source(), m.format());
  for (const auto& [k, v] : m.meta()) out.set_meta(k, v);
  for (const std::string& name : m.names()) {
    auto it = changed.find(name);
    out.add(name, it == changed.end() ? m.get(name) : std::move(it->second));
  }
  return out;
}

}  // namespace

void apply_peft_adapter(HfModel& base, const PeftAdapter& a) {
  const Sizes s = adapter_sizes(base, a);
  std::set<std::string> used;
  std::map<std::string, Tensor> changed;
  grow_token_rows(base, a, s, used, changed);
  if (a.rank > 0) merge_lora_sites(base, a, used, changed);
  std::map<std::string, Tensor> added;
  put_heads(base, a, used, changed, added);
  for (const std::string& name : a.tensors.names())
    if (!used.count(name))
      throw Error(a.tensors.source() + ": tensor " + name +
                  " is not one adapter_config.json describes");
  base.tensors = replaced(base.tensors, changed);
  for (auto& [name, value] : added) base.tensors.add(name, std::move(value));
  base.config.vocab_size = s.vocab;
  if (s.vocab > s.base) base.config.base_vocab_size = s.base;
  base.config_json = config_json(base.config, base.config_json);
}

}  // namespace loom::models
