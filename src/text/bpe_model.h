// Byte-pair encoding as Hugging Face's BPE model: merge ranks from the file, lowest rank first
// (leftmost on ties), with unk / fuse_unk / byte_fallback / continuing_subword_prefix /
// end_of_word_suffix / ignore_merges. In byte-level mode (GPT-2, Llama 3) pieces arrive as raw
// bytes and are mapped through GPT-2's alphabet by table, never as strings.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "text/components.h"
#include "text/string_map.h"

namespace loom::text {

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class BpeModel : public Model {
 public:
  // vocab[id] = token (holes are ""); merges in rank order as (left, right) token strings.
  // Throws loom::Error (naming `name`) when a merge uses or produces an unknown token.
  BpeModel(std::vector<std::string> vocab, std::vector<std::pair<std::string, std::string>> merges,
           BpeOptions options, const std::string& name);

  std::string type() const override { return "BPE"; }
  void tokenize(std::string_view piece, ModelState* state,
                std::vector<ModelToken>& out) const override;
  std::unique_ptr<ModelState> make_state() const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  int32_t vocab_size() const override { return int32_t(vocab_.size()); }
  bool set_byte_level(bool on) override;
  nlohmann::ordered_json to_json() const override;

  const BpeOptions& options() const { return options_; }
  size_t merge_count() const { return merges_.size(); }

 public:
  // A (partial) token during merging; public so per-thread state can hold them.
  struct Symbol {
    int32_t id;
    uint32_t begin, end;  // bytes of the piece
    int32_t prev, next;   // linked list over live symbols; -1 at the ends
  };

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  void initial_symbols(std::string_view piece, std::vector<Symbol>& syms) const;
  void merge_symbols(std::vector<Symbol>& syms, std::vector<uint64_t>& heap) const;
  void tokenize_uncached(std::string_view piece, std::vector<Symbol>& syms,
                         std::vector<uint64_t>& heap, std::vector<ModelToken>& out) const;

  std::vector<std::string> vocab_;
  StringMap<int32_t> token_to_id_;
  std::vector<std::pair<std::string, std::string>> merges_;
  FlatMap64<Merge> merge_map_;  // (left id << 32 | right id) -> rank, merged id
  BpeOptions options_;
  int32_t unk_id_ = -1;
  std::vector<int32_t> byte_fallback_ids_;  // <0xXX> ids, or empty
  bool byte_level_ = false;
  int32_t byte_ids_[256];         // byte-level mode: id of each byte's alphabet char
  StringMap<int32_t> raw_vocab_;  // byte-level mode: raw bytes of each token -> id
};

}  // namespace loom::text
