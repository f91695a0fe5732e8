// Sequence-classification data: one text and one integer label per example, as TSV with a
// header (SST-2/GLUE: "sentence<TAB>label"; the text column is "sentence" or "text") or as JSONL
// ({"text": "...", "label": 1}, for a path ending in .jsonl or .json). Texts are encoded with
// the tokenizer's special tokens ([CLS] ... [SEP] for BERT). An example longer than max_len
// tokens keeps its first max_len - 1 tokens and its last (the closing special token). A line
// without its text or label, a label that is not an integer in [0, num_labels), an empty text or
// a file without examples is a loom::Error "FILE:LINE: what".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace loom::train {

struct ClassifyExample {
  std::vector<int32_t> ids;
  int32_t label = 0;
  int64_t line = 0;  // 1-based line in the file
  // Token classification (train/token_classify_data.h): one label per id, -100 (kIgnoreLabel)
  // where no loss is taken; empty for sequence classification.
  std::vector<int32_t> tags;
};

struct ClassifyDataOptions {
  const text::Tokenizer* tokenizer = nullptr;  // required
  int64_t max_len = 0;                         // 0: no limit
  int64_t num_labels = 0;                      // 0: any label >= 0
};

// `name` prefixes errors; jsonl selects the format.
std::vector<ClassifyExample> parse_classify_data(const std::string& text, const std::string& name,
                                                 bool jsonl, const ClassifyDataOptions& o);
std::vector<ClassifyExample> read_classify_data(const std::string& path,
                                                const ClassifyDataOptions& o);
// 1 + the largest label (at least 2: a binary task whose file shows one class is still binary).
int64_t count_labels(const std::vector<ClassifyExample>& examples);

}  // namespace loom::train
