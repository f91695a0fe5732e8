#include "train/run_folder.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "core/error.h"
#include "core/mapped_file.h"
#include "models/peft.h"

namespace loom::train {

bool path_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

bool is_folder(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

int64_t file_bytes(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

void make_run_folder(const std::string& dir) {
  ::mkdir(dir.c_str(), 0755);
  if (!is_folder(dir)) throw Error(dir + ": cannot create the output directory");
}

std::string tokenizer_file_name(const std::string& tokenizer_path) {
  const size_t slash = tokenizer_path.rfind('/');
  std::string name = slash == std::string::npos ? tokenizer_path : tokenizer_path.substr(slash + 1);
  if (name.size() > 6 && name.compare(name.size() - 6, 6, ".model") == 0) name = "tokenizer.model";
  return name;
}

namespace {

// The files of `names` that folder `from` has and `dir` has not, copied into dir.
void copy_missing(const std::string& from, const std::string& dir,
                  std::initializer_list<const char*> names) {
  if (!is_folder(from) || from == dir) return;
  for (const char* n : names) {
    const std::string src = from + "/" + n;
    if (path_exists(src) && !path_exists(dir + "/" + n))
      write_file_atomic(dir + "/" + n, read_file(src));
  }
}

}  // namespace

std::string copy_tokenizer(const std::string& tokenizer_path, const text::Tokenizer& tok,
                           const std::string& dir) {
  const std::string name = tokenizer_file_name(tokenizer_path);
  const std::string dst = dir + "/" + name;
  if (dst != tokenizer_path) write_file_atomic(dst, read_file(tokenizer_path));
  if (name != "tokenizer.json" && !path_exists(dir + "/tokenizer.json"))
    tok.save(dir + "/tokenizer.json");
  // A tokenizer.json's BOS/EOS and chat template live in the tokenizer_config.json beside it
  // (as save_pretrained writes them together): they travel with it.
  const size_t slash = tokenizer_path.rfind('/');
  if (name == "tokenizer.json")
    copy_missing(slash == std::string::npos ? "." : tokenizer_path.substr(0, slash), dir,
                 {"tokenizer_config.json", "special_tokens_map.json"});
  return dst;
}

void copy_tokenizer_companions(const std::string& init, const std::string& dir) {
  copy_missing(init, dir, {"tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"});
}

void check_run_record(const std::string& path, const std::string& record,
                      const std::string& settings, bool missing_ok) {
  const bool have = path_exists(path);
  if (!have && missing_ok) return;
  const std::string prev = have ? read_file(path) : std::string();
  if (prev == record) return;
  throw Error(path + ": the run was started with other settings (" +
              (have ? prev.substr(0, prev.find('\n')) : std::string("no record")) +
              "); resume with the same flags (" + settings + ")");
}

std::string log_through_step(const std::string& log_path, int64_t steps_done) {
  std::ifstream in(log_path);
  std::string line, kept;
  while (std::getline(in, line))
    if (line.rfind("step", 0) == 0 || std::atoll(line.c_str()) <= steps_done) kept += line + "\n";
  return kept;
}

nn::LoraConfig lora_config(const std::string& arch, const LoraOptions& lora) {
  if (lora.rank <= 0) throw Error("LoRA rank " + std::to_string(lora.rank) + ": expected > 0");
  nn::LoraConfig c;
  c.rank = lora.rank;
  c.alpha = lora.alpha ? *lora.alpha : 2.0f * static_cast<float>(lora.rank);
  c.targets = lora.targets;
  if (c.targets.empty()) c.targets = models::architecture(arch).default_lora_targets();
  return c;
}

std::string original_rows_sha256(models::CausalLm& model, int64_t base) {
  const nn::Parameter* head = model.param(models::Wt{model.architecture().role("output"), 0});
  const nn::Parameter* embed = model.param(models::Wt{0, 0});
  return models::embedding_rows_sha256(embed->value.f32(), head ? head->value.f32() : nullptr, base,
                                       embed->cols());
}

void save_run_adapter(models::CausalLm& model, const std::string& out, int64_t base_vocab,
                      const std::string& init) {
  const int64_t base = base_vocab >= 0 ? base_vocab : model.config().vocab_size;
  std::map<std::string, std::string> tok_files;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    if (path_exists(out + "/" + f)) tok_files[f] = read_file(out + "/" + f);
  models::save_peft_adapter(model, out + "/adapter",
                            {base, original_rows_sha256(model, base), init}, tok_files);
}

std::unique_ptr<models::CausalLm> make_run_model(const models::DecoderConfig& c,
                                                 const models::HfModel* init, bool lora_mode,
                                                 const std::optional<LoraOptions>& lora,
                                                 uint64_t seed, int64_t score_labels) {
  nn::LoraConfig lc;
  if (lora_mode) lc = lora_config(c.arch, lora ? *lora : LoraOptions{});
  auto model = std::make_unique<models::CausalLm>(c, lc, score_labels);
  if (init) {
    models::load_hf_weights(*model, init->tensors);
    model->init_lora(seed);
    if (model->score_head() && !init->tensors.has(model->score_head()->name))
      model->init_score(seed);
  } else {
    model->init(seed);
  }
  model->exclude_norms_and_biases_from_decay();
  return model;
}

}  // namespace loom::train
