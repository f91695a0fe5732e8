// Added tokens as their own layer in front of the model: found in the text first (leftmost,
// longest), honouring single_word / lstrip / rstrip, and never split by the model. Tokens with
// normalized=false are matched on the raw input, the others on normalized text.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/normalized.h"
#include "text/string_map.h"
#include "text/tokenizer.h"

namespace loom::text {

class AddedVocabulary {
 public:
  struct Match {
    Offset range;  // bytes of the searched text, after lstrip/rstrip widening
    int32_t id;
  };

  // Adds or replaces; `pattern` is the text to look for (the normalized content when
  // token.normalized, else the content); match_normalized puts it in the set matched on
  // normalized text.
  void add(const AddedToken& token, const std::string& pattern, bool match_normalized);
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* find_content(std::string_view content) const;
  const AddedToken* find_id(int32_t id) const;
  bool empty() const { return tokens_.empty(); }
  bool has_set(bool normalized) const { return !sets_[normalized].nodes.empty(); }

  // Appends the matches of one set (normalized or raw tokens) in text, in order.
  void find(std::string_view text, bool normalized, std::vector<Match>& out) const;

 private:
  struct Trie {
    struct Node {
      int32_t token = -1;  // index into tokens_ when a pattern ends here
    };
    std::vector<Node> nodes;   // node 0 is the root (when non-empty)
    FlatMap64<int32_t> edges;  // node << 8 | byte -> child
    bool first_byte[256] = {};
  };
  void rebuild();

  std::vector<AddedToken> tokens_;
  std::vector<std::string> patterns_;
  std::vector<bool> match_normalized_;
  StringMap<size_t> by_content_;
  std::unordered_map<int32_t, size_t> by_id_index_;  // id -> index into tokens_
  Trie sets_[2];
};

}  // namespace loom::text
