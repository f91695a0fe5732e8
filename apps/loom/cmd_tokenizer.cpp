// `loom tokenizer info` and `loom tokenizer add-tokens`.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "text/tokenizer.h"

namespace {

std::string token_or_none(const loom::text::Tokenizer& tok, int32_t id) {
  return id < 0 ? "none" : tok.id_to_token(id) + " (" + std::to_string(id) + ")";
}

int run_info(const loom::cli::Args& args) {
  std::string path = args.need("tokenizer");
  auto tok = loom::text::load_tokenizer(path);
  auto info = tok->info();
  auto added = tok->added_tokens();
  std::vector<const loom::text::AddedToken*> special;
  for (const auto& t : added)
    if (t.special) special.push_back(&t);
  using loom::cli::json_quote;
  if (args.json()) {
    std::string s = "{\"file\": " + json_quote(path) + ", \"kind\": " + json_quote(info.kind) +
                    ", \"model\": " + json_quote(info.model) +
                    ", \"vocab_size\": " + std::to_string(tok->vocab_size()) +
                    ", \"bos_id\": " + std::to_string(tok->bos_id()) +
                    ", \"eos_id\": " + std::to_string(tok->eos_id()) +
                    ", \"added_tokens\": " + std::to_string(added.size()) +
                    ", \"special_tokens\": [";
    for (size_t i = 0; i < special.size(); ++i) {
      s += (i ? ", " : "") + std::string("{\"id\": ") + std::to_string(special[i]->id) +
           ", \"content\": " + json_quote(special[i]->content) + "}";
    }
    s += "], \"normalizer\": " + json_quote(info.normalizer) +
         ", \"pre_tokenizer\": " + json_quote(info.pre_tokenizer) +
         ", \"post_processor\": " + json_quote(info.post_processor) +
         ", \"decoder\": " + json_quote(info.decoder) + "}";
    std::printf("%s\n", s.c_str());
    return 0;
  }
  std::printf("file\t%s\nkind\t%s\nmodel\t%s\nvocab_size\t%d\nbos\t%s\neos\t%s\n", path.c_str(),
              info.kind.c_str(), info.model.c_str(), tok->vocab_size(),
              token_or_none(*tok, tok->bos_id()).c_str(),
              token_or_none(*tok, tok->eos_id()).c_str());
  std::printf("added_tokens\t%zu (%zu special)\n", added.size(), special.size());
  std::string list;
  for (size_t i = 0; i < special.size() && i < 12; ++i) {
    list += (i ? " " : "") + special[i]->content + "=" + std::to_string(special[i]->id);
  }
  if (special.size() > 12) list += " ...";
  std::printf("special\t%s\nnormalizer\t%s\npre_tokenizer\t%s\npost_processor\t%s\ndecoder\t%s\n",
              list.c_str(), info.normalizer.c_str(), info.pre_tokenizer.c_str(),
              info.post_processor.c_str(), info.decoder.c_str());
  return 0;
}

int run_add_tokens(const loom::cli::Args& args) {
  auto tok = loom::text::load_tokenizer(args.need("tokenizer"));
  std::string list_path = args.need("tokens");
  std::string out = args.need("output");
  std::string text = loom::read_file(list_path);
  std::vector<loom::text::AddedToken> tokens;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    loom::text::AddedToken t;
    t.content = line;
    t.special = args.flag("special");
    t.normalized = !t.special;
    t.single_word = args.flag("single-word");
    t.lstrip = args.flag("lstrip");
    t.rstrip = args.flag("rstrip");
    tokens.push_back(t);
  }
  int32_t before = tok->vocab_size();
  int added = tok->add_tokens(tokens);
  tok->save(out);
  if (args.json()) {
    std::printf("{\"added\": %d, \"vocab_size_before\": %d, \"vocab_size\": %d, \"output\": %s}\n",
                added, before, tok->vocab_size(), loom::cli::json_quote(out).c_str());
  } else {
    std::printf("added %d tokens (vocab %d -> %d), wrote %s\n", added, before, tok->vocab_size(),
                out.c_str());
  }
  return 0;
}

}  // namespace

LOOM_COMMAND("tokenizer info",
             "show a tokenizer's kind, vocabulary size, special tokens and stages",
             {{"tokenizer", "FILE", "any supported tokenizer file", ""}}, run_info);

LOOM_COMMAND(
    "tokenizer add-tokens",
    "add tokens (one per line) with ids after the existing ones; write tokenizer.json",
    {{"tokenizer", "FILE", "any supported tokenizer file", ""},
     {"tokens", "LIST_FILE", "one token per line (empty lines skipped)", ""},
     {"special", "", "mark them special (skipped by decode, matched on raw text)", ""},
     {"single-word", "", "only match outside words", ""},
     {"lstrip", "", "swallow whitespace on the left", ""},
     {"rstrip", "", "swallow whitespace on the right", ""},
     {"output", "OUT.json", "where to write the tokenizer.json", ""}},
    run_add_tokens,
    "Tokens already in the vocabulary keep their ids; saving and reloading keeps every id.\n"
    "example: loom tokenizer add-tokens --tokenizer tokenizer.json --tokens terms.txt "
    "--output extended.json");
