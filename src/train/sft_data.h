// Instruction-tuning and preference data (JSONL, one example per line) turned into token ids and
// labels for supervised fine-tuning, reward models and DPO.
//
// Formats (detected per line from the keys):
//   prompt/completion      {"prompt": "...", "completion": "..."}
//   NaturalInstructions    {"definition": "..." or [...], "positive_examples": [{"input",
//   "output"}],
//                           "input": "...", "output": "..." or [...]} (the first output is trained)
//   chat                   {"messages": [{"role", "content"}]} (UltraChat) or
//                          {"conversations": [{"from": human|gpt|system, "value"}]} (ShareGPT)
//   preference pair        {"prompt": "...", "chosen": "...", "rejected": "..."}
// Prompt/completion text is prompt + completion, encoded with the tokenizer's special tokens, the
// EOS token appended and trained. NaturalInstructions becomes prompt "Definition: D\n\n" +
// ("Input: I\nOutput: O\n\n" per positive example) + "Input: X\nOutput:" and completion " Y".
// Chats need a chat template: the conversation is rendered once (no special tokens added by the
// tokenizer, as apply_chat_template(tokenize=True) does) and every assistant turn is trained,
// from where render(messages before it, add_generation_prompt) ends to where
// render(messages up to it) ends, so its end-of-turn text (<|im_end|>, <|eot_id|>, </s>) is
// trained too. Preference pairs with a template are a user turn and an assistant turn.
//
// Labels without markers in the text (label_segments): the whole text is encoded once; for each
// boundary between pieces the text up to it is encoded too, and a token belongs to the first
// piece whose prefix encoding stops agreeing with the whole. Where it can fail: a token that
// merges across a boundary (BPE joining the prompt's last characters with the response's first)
// is counted in the later piece, so such a token is trained with a prompt, or masked with the
// text that follows a response. Special tokens and whitespace-split tokenizers never merge across.
//
// Length: examples longer than max_len tokens are cut at the end (right truncation); one with no
// trained token left (position >= 1, so it has a token to be predicted from) is an error naming
// its line, as is every malformed line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "train/objectives.h"  // kIgnoreLabel

namespace loom::train {

// A piece of an example's text; trained pieces get labels.
struct TextSegment {
  std::string text;
  bool trained = false;
};

struct SftExample {
  std::vector<int32_t> ids;
  std::vector<int32_t> labels;  // ids[i] on trained tokens, kIgnoreLabel elsewhere (not shifted)
  int64_t line = 0;             // 1-based JSONL line
};

struct PreferenceExample {
  SftExample chosen, rejected;  // prompt + response each, labels on the response
  int64_t line = 0;
};

struct SftDataOptions {
  const text::Tokenizer* tokenizer = nullptr;         // required
  const text::ChatTemplate* chat_template = nullptr;  // required for chats
  text::ChatTokens tokens;                            // bos_token/eos_token for the template
  int64_t max_len = 0;                                // 0: no limit
};

// Token ids of the concatenated segments and labels on the trained ones (rule above).
// append_eos adds the tokenizer's EOS (trained) when it has one.
SftExample label_segments(const std::vector<TextSegment>& segments, const text::Tokenizer& tok,
                          bool add_special, bool append_eos);
// The rendered conversation as segments: assistant turns trained (rule above).
std::vector<TextSegment> chat_segments(const std::vector<text::ChatMessage>& messages,
                                       const text::ChatTemplate& tmpl,
                                       const text::ChatTokens& tokens);

// `name` prefixes errors ("name:LINE: what").
std::vector<SftExample> parse_sft_jsonl(const std::string& text, const std::string& name,
                                        const SftDataOptions& o);
std::vector<PreferenceExample> parse_preference_jsonl(const std::string& text,
                                                      const std::string& name,
                                                      const SftDataOptions& o);
std::vector<SftExample> read_sft_jsonl(const std::string& path, const SftDataOptions& o);
std::vector<PreferenceExample> read_preference_jsonl(const std::string& path,
                                                     const SftDataOptions& o);

// Next-token targets for CausalLm::loss: targets[t] = labels[t + 1], the last one ignored.
std::vector<int32_t> shift_labels(const std::vector<int32_t>& labels);

}  // namespace loom::train
