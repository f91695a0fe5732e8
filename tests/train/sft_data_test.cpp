// Instruction and preference data: labels checked token by token on every format against an
// independent construction (each piece encoded on its own, labels on the response pieces), on
// GPT-2's real tokenizer; chats through the real ChatML, Llama 2, Llama 3 and Zephyr templates;
// bad lines named by line number.
#include "train/sft_data.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_util.h"

namespace loom::train {
namespace {

// GPT-2's tokenizer with the templates' markers added as special tokens, as chat models have them.
const text::Tokenizer& gpt2() {
  static const auto tok = [] {
    auto t = text::load_tokenizer(test::data_path("tokenizers/gpt2/encoder.json"));
    std::vector<text::AddedToken> added;
    for (const char* s : {"<|im_start|>", "<|im_end|>", "<|start_header_id|>", "<|end_header_id|>",
                          "<|eot_id|>", "<s>", "</s>", "<|user|>", "<|assistant|>", "<|system|>"}) {
      text::AddedToken a;
      a.content = s;
      a.special = true;
      a.normalized = false;
      added.push_back(a);
    }
    t->add_tokens(added);
    return t;
  }();
  return *tok;
}

std::vector<int32_t> enc(const std::string& s) {
  std::vector<int32_t> ids;
  gpt2().encode_ids(s, false, ids);
  return ids;
}

// Expected ids and labels: pieces encoded one by one, trained pieces labelled.
SftExample expected(const std::vector<TextSegment>& pieces, bool eos) {
  SftExample e;
  for (const auto& p : pieces) {
    for (int32_t id : enc(p.text)) {
      e.ids.push_back(id);
      e.labels.push_back(p.trained ? id : kIgnoreLabel);
    }
  }
  if (eos) {
    e.ids.push_back(gpt2().eos_id());
    e.labels.push_back(gpt2().eos_id());
  }
  return e;
}

std::string pieces(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) out += "[" + gpt2().id_to_token(id) + "]";
  return out;
}

void expect_same(const SftExample& got, const SftExample& want) {
  ASSERT_EQ(got.ids.size(), want.ids.size()) << pieces(got.ids) << "\n" << pieces(want.ids);
  for (size_t i = 0; i < got.ids.size(); ++i) {
    EXPECT_EQ(got.ids[i], want.ids[i]) << "token " << i;
    EXPECT_EQ(got.labels[i], want.labels[i]) << "label " << i;
  }
}

std::string chat_template(const std::string& name) {
  std::ifstream f(test::golden_path("text/chat_template_golden.json"));
  return nlohmann::json::parse(f)["templates"][name].get<std::string>();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

SftDataOptions options() {
  SftDataOptions o;
  o.tokenizer = &gpt2();
  return o;
}

TEST(SftData, PromptCompletionLabelsTheCompletionAndEos) {
  const auto got = parse_sft_jsonl(
      R"({"prompt": "Define byte.\nAnswer:", "completion": " Eight bits."})", "d.jsonl", options());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].line, 1);
  expect_same(got[0], expected({{"Define byte.\nAnswer:", false}, {" Eight bits.", true}}, true));
}

// A token merging across the boundary belongs to the later piece (sft_data.h's rule).
TEST(SftData, TokenAcrossTheBoundaryGoesToTheResponse) {
  const SftExample e =
      label_segments({{"Answer: hel", false}, {"lo world", true}}, gpt2(), true, true);
  const std::vector<int32_t> hello = enc(" hello"), world = enc(" world");
  ASSERT_EQ(hello.size(), 1u);
  const std::vector<int32_t> want_labels = {kIgnoreLabel, kIgnoreLabel, hello[0], world[0],
                                            gpt2().eos_id()};
  EXPECT_EQ(e.ids.size(), 5u);
  EXPECT_EQ(e.labels, want_labels);
}

TEST(SftData, NaturalInstructionsPromptAndOutput) {
  const std::string line =
      R"({"definition": ["Define the term.", "Be brief."], "positive_examples": [{"input": "bit", "output": "binary digit"}], "input": "byte", "output": ["eight bits", "octet"]})";
  const auto got = parse_sft_jsonl("\n" + line + "\n", "ni.jsonl", options());
  EXPECT_EQ(got[0].line, 2);
  const std::string prompt =
      "Definition: Define the term.\nBe brief.\n\nInput: bit\nOutput: binary digit\n\nInput: "
      "byte\nOutput:";
  expect_same(got[0], expected({{prompt, false}, {" eight bits", true}}, true));
}

TEST(SftData, ChatTurnsThroughRealTemplates) {
  const std::string line =
      R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Define bit."}, {"role": "assistant", "content": "A binary digit."}, {"role": "user", "content": "And byte?"}, {"role": "assistant", "content": "Eight bits."}]})";
  text::ChatTokens tok;
  tok.bos_token = "<s>";
  tok.eos_token = "</s>";
  SftDataOptions o = options();
  o.tokens = tok;
  const text::ChatTemplate chatml(chat_template("chatml"));
  o.chat_template = &chatml;
  expect_same(parse_sft_jsonl(line, "c.jsonl", o)[0],
              expected({{"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nDefine "
                         "bit.<|im_end|>\n<|im_start|>assistant\n",
                         false},
                        {"A binary digit.<|im_end|>\n", true},
                        {"<|im_start|>user\nAnd byte?<|im_end|>\n<|im_start|>assistant\n", false},
                        {"Eight bits.<|im_end|>\n", true}},
                       false));
  // GPT-2's split pattern makes "\n\n" one token alone but two before "A" (Llama 3's own pattern
  // keeps it one): the header's "\n\n" straddles the boundary and is trained with the response.
  const text::ChatTemplate llama3(chat_template("llama3"));
  o.chat_template = &llama3;
  const std::string h = "<|start_header_id|>", e = "<|end_header_id|>\n\n";
  expect_same(
      parse_sft_jsonl(line, "c.jsonl", o)[0],
      expected({{"<s>" + h + "system" + e + "Be brief.<|eot_id|>" + h + "user" + e +
                     "Define bit.<|eot_id|>" + h + "assistant<|end_header_id|>",
                 false},
                {"\n\nA binary digit.<|eot_id|>", true},
                {h + "user" + e + "And byte?<|eot_id|>" + h + "assistant<|end_header_id|>", false},
                {"\n\nEight bits.<|eot_id|>", true}},
               false));
}

TEST(SftData, ShareGptThroughLlama2AndZephyr) {
  const std::string line =
      R"({"conversations": [{"from": "human", "value": "Define bit."}, {"from": "gpt", "value": "A binary digit."}]})";
  SftDataOptions o = options();
  o.tokens.bos_token = "<s>";
  o.tokens.eos_token = "</s>";
  const text::ChatTemplate llama2(chat_template("llama2"));
  o.chat_template = &llama2;
  expect_same(
      parse_sft_jsonl(line, "c.jsonl", o)[0],
      expected({{"<s>[INST] Define bit. [/INST]", false}, {" A binary digit. </s>", true}}, false));
  const text::ChatTemplate zephyr(chat_template("zephyr"));
  o.chat_template = &zephyr;
  expect_same(parse_sft_jsonl(line, "c.jsonl", o)[0],
              expected({{"<|user|>\nDefine bit.</s>\n<|assistant|>\n", false},
                        {"A binary digit.</s>\n", true}},
                       false));
}

TEST(SftData, PreferencePairsShareThePrompt) {
  const auto got = parse_preference_jsonl(
      R"({"prompt": "Define bit:", "chosen": " a binary digit", "rejected": " a small dog"})",
      "p.jsonl", options());
  ASSERT_EQ(got.size(), 1u);
  expect_same(got[0].chosen, expected({{"Define bit:", false}, {" a binary digit", true}}, true));
  expect_same(got[0].rejected, expected({{"Define bit:", false}, {" a small dog", true}}, true));
}

TEST(SftData, BadLinesAreNamedByLineNumber) {
  SftDataOptions o = options();
  const text::ChatTemplate llama2(chat_template("llama2"));
  auto sft = [&](const std::string& text) {
    return error_of([&] { parse_sft_jsonl(text, "d.jsonl", o); });
  };
  const std::string ok = R"({"prompt": "a", "completion": " b"})";
  EXPECT_NE(sft(ok + "\n{not json").find("d.jsonl:2: not valid JSON"), std::string::npos);
  EXPECT_NE(sft(ok + "\n\n" + R"({"messages": [{"role": "robot", "content": "x"}]})")
                .find("d.jsonl:3: messages[0]: unknown role \"robot\""),
            std::string::npos)
      << sft(ok + "\n\n" + R"({"messages": [{"role": "robot", "content": "x"}]})");
  o.chat_template = &llama2;
  EXPECT_NE(sft(R"({"messages": [{"role": "robot", "content": "x"}]})")
                .find("d.jsonl:1: messages[0]: unknown role \"robot\""),
            std::string::npos);
  EXPECT_NE(
      sft(R"({"messages": [{"role": "user", "content": "x"}, {"role": "user", "content": "y"}, {"role": "assistant", "content": "z"}]})")
          .find("d.jsonl:1: chat_template: offset"),
      std::string::npos)
      << sft(R"({"messages": [{"role": "user", "content": "x"}, {"role": "user", "content": "y"}, {"role": "assistant", "content": "z"}]})");
  EXPECT_NE(sft(R"({"prompt": "a"})").find("d.jsonl:1: unknown format"), std::string::npos);
  o.max_len = 3;
  EXPECT_NE(sft(R"({"prompt": "one two three four", "completion": " five"})")
                .find("d.jsonl:1: the prompt is 4 tokens: no response token within the first 3"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              parse_preference_jsonl(R"({"prompt": "p", "chosen": "x", "rejected": "x"})",
                                     "p.jsonl", options());
            }).find("p.jsonl:1: \"chosen\" equals \"rejected\""),
            std::string::npos);
}

TEST(SftData, LongExamplesAreCutAtTheEnd) {
  SftDataOptions o = options();
  o.max_len = 4;
  const auto got =
      parse_sft_jsonl(R"({"prompt": "one two", "completion": " three four five"})", "d", o);
  ASSERT_EQ(got[0].ids.size(), 4u);
  const SftExample full = expected({{"one two", false}, {" three four five", true}}, true);
  EXPECT_EQ(got[0].ids, std::vector<int32_t>(full.ids.begin(), full.ids.begin() + 4));
  EXPECT_EQ(shift_labels(got[0].labels),
            (std::vector<int32_t>{kIgnoreLabel, full.ids[2], full.ids[3], kIgnoreLabel}));
}

}  // namespace
}  // namespace loom::train
