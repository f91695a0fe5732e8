#include "adapt/adapter.h"

#include <sys/stat.h>

#include "core/error.h"
#include "models/hf.h"

namespace loom::adapt {

void check_adapter_tokenizer(const text::Tokenizer& tok, const std::string& tok_path,
                             int64_t base_vocab, int64_t vocab) {
  if (tok.vocab_size() != vocab)
    throw Error(tok_path + ": " + std::to_string(tok.vocab_size()) +
                " tokens but the adapted model has " + std::to_string(vocab) + " (base " +
                std::to_string(base_vocab) +
                " plus the adapter's trainable token indices): the tokenizer is not this "
                "adapter's");
  // Every id in [base_vocab, vocab) is a row the adapter wrote; each must be an added token.
  std::vector<bool> added(static_cast<size_t>(vocab - base_vocab), false);
  for (const text::AddedToken& t : tok.added_tokens())
    if (t.id >= base_vocab && t.id < vocab) added[static_cast<size_t>(t.id - base_vocab)] = true;
  for (int64_t i = base_vocab; i < vocab; ++i)
    if (!added[static_cast<size_t>(i - base_vocab)])
      throw Error(tok_path + ": token id " + std::to_string(i) + " ('" +
                  tok.id_to_token(static_cast<int32_t>(i)) +
                  "') is one of the adapter's new rows but not an added token of this tokenizer");
}

AdaptedModel load_adapted_model(const std::string& base_path, const std::string& adapter_dir) {
  const models::PeftAdapter a = models::read_peft_adapter(adapter_dir);
  models::HfModel hf = models::read_hf_model(base_path);
  const int64_t base_vocab = hf.config.vocab_size;
  models::apply_peft_adapter(hf, a);
  AdaptedModel out;
  out.base_vocab = base_vocab;
  out.vocab = hf.config.vocab_size;
  const std::string tok_path = adapter_dir + "/tokenizer.json";
  struct stat st {};
  if (::stat(tok_path.c_str(), &st) == 0) {
    check_adapter_tokenizer(*text::load_tokenizer(tok_path), tok_path, base_vocab, out.vocab);
    out.tokenizer = tok_path;
  } else if (out.vocab > base_vocab) {
    throw Error(adapter_dir + ": no tokenizer.json, but the adapter adds " +
                std::to_string(out.vocab - base_vocab) +
                " tokens (the extended tokenizer "
                "belongs beside adapter_config.json)");
  }
  hf.source = base_path + " + " + adapter_dir;
  out.model = models::build_hf_model(hf);
  return out;
}

}  // namespace loom::adapt
