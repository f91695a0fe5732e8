// Token-classification data (NER-style tagging): sentences of words, one tag per word, as CoNLL
// text (one "word<TAB>tag" per line, or space-separated columns with the word first and the tag
// last as CoNLL-2003 writes them; a blank line between sentences; -DOCSTART- lines skipped) or as
// JSONL ({"tokens": [...], "tags": [...]}, for a path ending in .jsonl or .json; "ner_tags" is
// accepted for "tags"). Tags are strings (B-PER, I-PER, O); the label ids are the sorted distinct
// tags of the training file.
//
// Words are joined with single spaces and encoded once with the tokenizer's special tokens; a
// word's label goes on its first sub-token and -100 on the rest and on the special tokens
// (transformers' run_ner with label_all_tokens=False). A sentence longer than max_len tokens keeps
// its first max_len - 1 tokens and its last (the closing special token); the words cut off carry
// no label. A line without a tag, an empty word, a tag outside the label list, mismatched JSONL
// lengths or a file without sentences is a loom::Error "FILE:LINE: what".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "text/tokenizer.h"
#include "train/classify_data.h"

namespace loom::train {

struct TaggedSentence {
  std::vector<std::string> words, tags;
  int64_t line = 0;  // 1-based line of its first word (JSONL: its line)
};

// `name` prefixes errors; jsonl selects the format.
std::vector<TaggedSentence> parse_tagged_sentences(const std::string& text, const std::string& name,
                                                   bool jsonl);
std::vector<TaggedSentence> read_tagged_sentences(const std::string& path);

// The sorted distinct tags of sentences.
std::vector<std::string> tag_names(const std::vector<TaggedSentence>& sentences);

// Sentences -> examples whose tags are label ids (names' indices) on first sub-tokens, -100
// elsewhere. A tag not in names is a loom::Error naming `name` and the sentence's line.
std::vector<ClassifyExample> encode_tagged(const std::vector<TaggedSentence>& sentences,
                                           const std::vector<std::string>& names,
                                           const text::Tokenizer& tok, int64_t max_len,
                                           const std::string& name);

// The word-level tags of an example, by names: tags[i] for the positions that carry a label,
// in order (the words that survived truncation).
std::vector<std::string> labelled_tags(const std::vector<int32_t>& tags,
                                       const std::vector<std::string>& names);

}  // namespace loom::train
