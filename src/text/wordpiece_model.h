// WordPiece (BERT): greedy longest match from the left, "##" on continuation pieces, the whole
// word becomes [UNK] when any position has no match or it is longer than
// max_input_chars_per_word chars.
#pragma once

#include <string>
#include <vector>

#include "text/components.h"
#include "text/string_map.h"

namespace loom::text {

class WordPieceModel : public Model {
 public:
  // vocab[id] = token (holes are ""). Throws loom::Error (naming `name`) when unk is not in it.
  WordPieceModel(std::vector<std::string> vocab, std::string unk_token, std::string prefix,
                 int max_input_chars_per_word, const std::string& name);

  std::string type() const override { return "WordPiece"; }
  void tokenize(std::string_view piece, ModelState* state,
                std::vector<ModelToken>& out) const override;
  std::unique_ptr<ModelState> make_state() const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  int32_t vocab_size() const override { return int32_t(vocab_.size()); }
  nlohmann::ordered_json to_json() const override;

  const std::string& prefix() const { return prefix_; }

 private:
  std::vector<std::string> vocab_;
  StringMap<int32_t> token_to_id_;
  std::string unk_token_, prefix_;
  int max_chars_;
  int32_t unk_id_;
  size_t max_token_bytes_ = 0;  // longest vocabulary entry without the prefix
};

}  // namespace loom::text
