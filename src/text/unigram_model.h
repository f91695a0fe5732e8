// Unigram (SentencePiece's model as Hugging Face's tokenizers runs it from tokenizer.json):
// Viterbi over every vocabulary piece matching at each character, scoring a path by the sum of
// piece scores (log probabilities, in double); a character no single piece covers becomes the
// unknown token with score min_score - 10, and consecutive unknowns fuse into one. With
// byte_fallback an unknown run becomes its <0xXX> byte tokens when all of them exist.
//
// As HF does, and unlike libsentencepiece, every piece (the unknown and control pieces included)
// can match text: "<unk>" in the input is the unknown token. Ties keep the earlier start.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "text/components.h"
#include "text/string_map.h"

namespace loom::text {

class UnigramModel : public Model {
 public:
  // vocab[id] = (piece, score); a repeated piece resolves to its last id (as HF). unk_id < 0:
  // none, and then text with a character no piece covers throws loom::Error (HF's MissingUnkId).
  // Throws loom::Error naming `name` for an empty vocabulary, an empty piece or an unk_id out of
  // range.
  UnigramModel(std::vector<std::pair<std::string, double>> vocab, int32_t unk_id,
               bool byte_fallback, const std::string& name);

  std::string type() const override { return "Unigram"; }
  void tokenize(std::string_view piece, ModelState* state,
                std::vector<ModelToken>& out) const override;
  std::unique_ptr<ModelState> make_state() const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  int32_t vocab_size() const override { return int32_t(vocab_.size()); }
  nlohmann::ordered_json to_json() const override;

 private:
  std::vector<std::pair<std::string, double>> vocab_;
  StringMap<int32_t> token_to_id_;
  int32_t unk_id_;
  bool byte_fallback_;
  double min_score_ = 0;
  // Byte trie over all pieces: (node << 8 | byte) -> child; node_id_[node] = piece id or -1.
  FlatMap64<int32_t> edges_;
  std::vector<int32_t> node_id_;
  int32_t byte_ids_[256];  // <0xXX> ids, -1 when absent
};

}  // namespace loom::text
