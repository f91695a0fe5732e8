// The run folder both training runs (train/run.h, train/contrastive_run.h) write and resume:
// the tokenizer files beside the model, the record of what the run trains, log.csv, and the LoRA
// settings they share.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/causal_lm.h"
#include "models/hf.h"
#include "text/tokenizer.h"

namespace loom::train {

bool path_exists(const std::string& p);
bool is_folder(const std::string& p);
// The size of file p in bytes; 0 when it does not exist.
int64_t file_bytes(const std::string& p);

// Creates dir (one level) when missing; a loom::Error naming it when it is not a folder then.
void make_run_folder(const std::string& dir);

// The name a tokenizer file takes in a model folder: a SentencePiece .model becomes
// tokenizer.model (Hugging Face's name), other files keep theirs.
std::string tokenizer_file_name(const std::string& tokenizer_path);

// Copies the tokenizer file into dir under tokenizer_file_name, and, when that is not a
// tokenizer.json and dir has none, tok saved as dir/tokenizer.json too (so `loom generate
// --model DIR` finds it by itself). A tokenizer.json brings the tokenizer_config.json and
// special_tokens_map.json of its folder along (where dir has none). Returns the path written.
std::string copy_tokenizer(const std::string& tokenizer_path, const text::Tokenizer& tok,
                           const std::string& dir);
// The tokenizer companions of a Hugging Face model folder init (tokenizer_config.json,
// special_tokens_map.json, tokenizer.model) copied into dir where dir has none yet; nothing when
// init is a file.
void copy_tokenizer_companions(const std::string& init, const std::string& dir);

// sha256 over rows [0, base) of the token embedding and (untied) head: the rows that must never
// change under new-embeddings.
std::string original_rows_sha256(models::CausalLm& model, int64_t base);
// The PEFT adapter of a run that trains only new rows and/or LoRA, written to out/adapter with
// the tokenizer files of out: a subfolder, not the run folder itself, because transformers treats
// a folder holding adapter_config.json as an adapter to load onto base_model_name_or_path, which
// would hide the merged model of the run folder. base_vocab < 0: the model's vocabulary size.
void save_run_adapter(models::CausalLm& model, const std::string& out, int64_t base_vocab,
                      const std::string& init);

// What a run trains, kept beside its checkpoint (which holds values and moments, not the
// objective or which rows are frozen): written when the run starts, compared on resume. A record
// at path other than `record` is a loom::Error naming path, quoting the old record's first line
// and asking for the same flags (`settings` names them); no record at all is one too unless
// missing_ok.
void check_run_record(const std::string& path, const std::string& record,
                      const std::string& settings, bool missing_ok);

// log.csv's lines to keep on resume: header lines and the rows of steps <= steps_done (a run
// stopped between saves logged steps its checkpoint does not hold). "" when there is no log.
std::string log_through_step(const std::string& log_path, int64_t steps_done);

// LoRA adapters a run adds: rank > 0; alpha (update scaled by alpha / rank) default 2 * rank;
// targets default to the architecture's own (Architecture::default_lora_targets).
struct LoraOptions {
  int64_t rank = 8;
  std::optional<float> alpha;
  std::vector<std::string> targets;
};
// The LoRA settings of a run: the options, or the architecture's default targets.
nn::LoraConfig lora_config(const std::string& arch, const LoraOptions& lora);

// The model a run trains: config c with LoRA adapters when mode trains them (the options, or the
// architecture's defaults), weights from init (the adapters seeded) or all seeded when init is
// nullptr, norms and biases out of weight decay. score_labels > 0: with a scoring head
// (CausalLm), seeded unless init holds score.weight.
std::unique_ptr<models::CausalLm> make_run_model(const models::DecoderConfig& c,
                                                 const models::HfModel* init, bool lora_mode,
                                                 const std::optional<LoraOptions>& lora,
                                                 uint64_t seed, int64_t score_labels = 0);

}  // namespace loom::train
