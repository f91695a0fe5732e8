#include "server/response.h"

#include <cstring>
#include <nlohmann/json.hpp>

namespace loom::server {

namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json completion_logprobs(const std::vector<TokenInfo>& toks, int64_t offset = 0) {
  json tokens = json::array(), lps = json::array(), tops = json::array(), offs = json::array();
  for (const TokenInfo& t : toks) {
    tokens.push_back(t.text);
    lps.push_back(t.conditioned ? json(t.logprob) : json(nullptr));
    json top = json::object();
    for (const auto& [text, lp] : t.top) top[text] = lp;  // OpenAI's shape: text -> logprob
    tops.push_back(t.conditioned ? std::move(top) : json(nullptr));
    offs.push_back(offset);
    offset += static_cast<int64_t>(t.text.size());
  }
  return {
      {"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offs}};
}

json byte_list(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

json chat_logprobs(const std::vector<TokenInfo>& toks) {
  json content = json::array();
  for (const TokenInfo& t : toks) {
    json top = json::array();
    for (const auto& [text, lp] : t.top)
      top.push_back({{"token", text}, {"logprob", lp}, {"bytes", byte_list(text)}});
    content.push_back({{"token", t.text},
                       {"logprob", t.logprob},
                       {"bytes", byte_list(t.text)},
                       {"top_logprobs", top}});
  }
  return {{"content", content}};
}

json choice_json(const Choice& c, bool chat) {
  json j = {{"index", c.index}, {"finish_reason", c.finish_reason}};
  json lp = nullptr;
  if (c.logprobs) lp = chat ? chat_logprobs(*c.logprobs) : completion_logprobs(*c.logprobs);
  j["logprobs"] = lp;
  if (chat) {
    j["message"] = {{"role", "assistant"}, {"content", c.text}};
  } else {
    j["text"] = c.text;
  }
  return j;
}

}  // namespace

std::string completion_json(const ResponseMeta& meta, bool chat, const std::vector<Choice>& choices,
                            const Usage& usage) {
  json cs = json::array();
  for (const Choice& c : choices) cs.push_back(choice_json(c, chat));
  json j = {{"id", meta.id},
            {"object", chat ? "chat.completion" : "text_completion"},
            {"created", meta.created},
            {"model", meta.model},
            {"choices", cs},
            {"usage",
             {{"prompt_tokens", usage.prompt_tokens},
              {"completion_tokens", usage.completion_tokens},
              {"total_tokens", usage.prompt_tokens + usage.completion_tokens}}}};
  return dump(j);
}

std::string stream_event(const ResponseMeta& meta, bool chat, std::string_view text, bool first,
                         const std::string& finish_reason, const std::vector<TokenInfo>* logprobs,
                         int64_t text_offset) {
  json choice = {{"index", 0}, {"logprobs", nullptr}};
  if (logprobs != nullptr)
    choice["logprobs"] =
        chat ? chat_logprobs(*logprobs) : completion_logprobs(*logprobs, text_offset);
  choice["finish_reason"] = finish_reason.empty() ? json(nullptr) : json(finish_reason);
  if (chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || finish_reason.empty()) delta["content"] = std::string(text);
    choice["delta"] = delta;
  } else {
    choice["text"] = std::string(text);
  }
  json j = {{"id", meta.id},
            {"object", chat ? "chat.completion.chunk" : "text_completion"},
            {"created", meta.created},
            {"model", meta.model},
            {"choices", json::array({choice})}};
  return "data: " + dump(j) + "\n\n";
}

std::string base64_floats(const float* values, int64_t n) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(static_cast<size_t>(n) * 4, '\0');
  std::memcpy(bytes.data(), values, bytes.size());  // x86-64: already little-endian
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t left = bytes.size() - i;
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left > 1) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (left > 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += left > 1 ? kAlphabet[(v >> 6) & 63] : '=';
    out += left > 2 ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::string embeddings_json(const std::string& model, const std::vector<float>& vectors,
                            int64_t dim, bool base64, int64_t prompt_tokens) {
  const int64_t n = dim > 0 ? static_cast<int64_t>(vectors.size()) / dim : 0;
  json data = json::array();
  for (int64_t i = 0; i < n; ++i) {
    const float* row = vectors.data() + i * dim;
    json e = base64 ? json(base64_floats(row, dim)) : json(std::vector<float>(row, row + dim));
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(e)}});
  }
  json j = {{"object", "list"},
            {"data", std::move(data)},
            {"model", model},
            {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
  return dump(j);
}

std::string search_json(const std::string& model, const std::string& collection,
                        const std::string& mode, const std::vector<SearchHit>& hits) {
  json data = json::array();
  for (const SearchHit& h : hits) {
    // The store wrote the metadata as a JSON object; an unreadable one is sent as null.
    json meta = json::parse(h.metadata, nullptr, false);
    if (meta.is_discarded()) meta = nullptr;
    data.push_back({{"object", "search_result"},
                    {"id", h.id},
                    {"score", h.score},
                    {"text", h.text},
                    {"metadata", std::move(meta)},
                    {"chunk", {h.begin, h.end}}});
  }
  json j = {{"object", "list"},
            {"data", std::move(data)},
            {"model", model},
            {"collection", collection},
            {"mode", mode}};
  return dump(j);
}

std::string models_json(const std::string& model, int64_t created) {
  json j = {
      {"object", "list"},
      {"data",
       json::array(
           {{{"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "loom"}}})}};
  return dump(j);
}

std::string error_json(const ApiError& e) {
  auto opt = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json j = {
      {"error",
       {{"message", e.what()}, {"type", e.type}, {"param", opt(e.param)}, {"code", opt(e.code)}}}};
  return dump(j);
}

}  // namespace loom::server
