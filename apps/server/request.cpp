#include "server/request.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace loom::server {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& param, const std::string& what) {
  throw ApiError(400, param.empty() ? what : "'" + param + "': " + what, param);
}

const char* type_name(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  return "null";
}

json parse_object(std::string_view body) {
  json j;
  try {
    j = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    throw ApiError(400,
                   "request body is not valid JSON (byte " + std::to_string(e.byte) +
                       "): expected a JSON object",
                   "", "invalid_request_error", "invalid_json");
  } catch (const json::exception& e) {  // e.g. out_of_range: a number like 1e400
    throw ApiError(400, std::string("request body is not valid JSON: ") + e.what(), "",
                   "invalid_request_error", "invalid_json");
  }
  if (!j.is_object())
    bad("", std::string("request body: expected a JSON object, got ") + type_name(j));
  return j;
}

// The member `name`, or nullptr when absent or null (OpenAI clients send null for "unset").
const json* member(const json& o, const char* name) {
  auto it = o.find(name);
  return it == o.end() || it->is_null() ? nullptr : &*it;
}

std::optional<double> number(const json& o, const char* name, double lo, double hi) {
  const json* v = member(o, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) bad(name, std::string("expected a number, got ") + type_name(*v));
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) {
    bad(name, "expected a number in [" + json(lo).dump() + ", " + json(hi).dump() + "], got " +
                  v->dump());
  }
  return x;
}

std::optional<int64_t> integer(const json& o, const char* name, int64_t lo, int64_t hi) {
  const json* v = member(o, name);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) bad(name, std::string("expected an integer, got ") + type_name(*v));
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi))
    bad(name, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  const int64_t x = v->get<int64_t>();
  if (x < lo || x > hi)
    bad(name, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

bool boolean(const json& o, const char* name, bool def) {
  const json* v = member(o, name);
  if (!v) return def;
  if (!v->is_boolean()) bad(name, std::string("expected a boolean, got ") + type_name(*v));
  return v->get<bool>();
}

std::string string_field(const json& o, const char* name) {
  const json* v = member(o, name);
  if (!v) return "";
  if (!v->is_string()) bad(name, std::string("expected a string, got ") + type_name(*v));
  return v->get<std::string>();
}

// A list of token ids (each in [0, 2^31)).
std::vector<int32_t> token_list(const json& v, const std::string& param) {
  std::vector<int32_t> ids;
  for (const json& t : v) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
        t.get<int64_t>() > std::numeric_limits<int32_t>::max() ||
        (t.is_number_unsigned() && t.get<uint64_t>() > 0x7fffffffu))
      bad(param, "expected token ids (non-negative integers), got " + t.dump());
    ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  return ids;
}

// string | [string] | [int] | [[int]] into texts or id lists (exactly one is filled).
void texts_or_tokens(const json& v, const char* param, int64_t max_items,
                     std::vector<std::string>& texts, std::vector<std::vector<int32_t>>& ids) {
  if (v.is_string()) {
    texts.push_back(v.get<std::string>());
    return;
  }
  if (!v.is_array() || v.empty())
    bad(param, std::string("expected a string or a non-empty list, got ") + type_name(v));
  if (v[0].is_number()) {
    ids.push_back(token_list(v, param));
    return;
  }
  if (static_cast<int64_t>(v.size()) > max_items)
    bad(param, "at most " + std::to_string(max_items) + " items, got " + std::to_string(v.size()));
  const bool strings = v[0].is_string();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = std::string(param) + "[" + std::to_string(i) + "]";
    if (strings && v[i].is_string()) {
      texts.push_back(v[i].get<std::string>());
    } else if (!strings && v[i].is_array()) {
      ids.push_back(token_list(v[i], p));
    } else {
      bad(p, std::string("expected every item to be ") +
                 (strings ? "a string" : "a list of token ids") + ", got " + type_name(v[i]));
    }
  }
}

std::vector<std::string> stop_list(const json& o, int64_t max_stops) {
  const json* v = member(o, "stop");
  if (!v) return {};
  std::vector<std::string> out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array() && static_cast<int64_t>(v->size()) <= max_stops) {
    for (const json& s : *v) {
      if (!s.is_string()) bad("stop", std::string("expected strings, got ") + type_name(s));
      out.push_back(s.get<std::string>());
    }
  } else {
    bad("stop", "expected a string or a list of at most " + std::to_string(max_stops) + " strings");
  }
  for (const std::string& s : out)
    if (s.empty()) bad("stop", "stop strings must not be empty");
  return out;
}

// Fields Loom does not implement: refused when set to anything but their neutral value, never
// ignored silently.
void refuse_unsupported(const json& o) {
  if (const json* v = member(o, "suffix"); v && !(v->is_string() && v->get<std::string>().empty()))
    bad("suffix", "not supported");
  if (const json* v = member(o, "logit_bias"); v && !(v->is_object() && v->empty()))
    bad("logit_bias", "not supported");
  for (const char* f : {"tools", "functions"})
    if (const json* v = member(o, f); v && !(v->is_array() && v->empty())) bad(f, "not supported");
}

// The schema of response_format json_schema, from the body parsed again with its objects' key
// order kept (properties are generated in the schema's order).
std::shared_ptr<const generate::JsonSchema> json_schema(std::string_view body, const json& spec) {
  const char* p = "response_format";
  if (!spec.is_object()) bad(p, "json_schema: expected {\"name\": ..., \"schema\": {...}}");
  const json* name = member(spec, "name");
  if (!name || !name->is_string()) bad(p, "json_schema.name: expected a string");
  if (const json* strict = member(spec, "strict"); strict && !strict->is_boolean())
    bad(p, "json_schema.strict: expected a boolean");
  if (!member(spec, "schema")) bad(p, "json_schema.schema: required");
  std::string schema;
  try {  // (a body with repeated keys may keep another value here: nlohmann's ordered_json keeps
         // the first, json the last)
    const auto ordered = nlohmann::ordered_json::parse(body.begin(), body.end());
    schema = ordered.at(p).at("json_schema").at("schema").dump();
  } catch (const nlohmann::ordered_json::exception&) {
    bad(p, "json_schema.schema: not found (repeated keys?)");
  }
  try {
    return std::make_shared<const generate::JsonSchema>(
        generate::JsonSchema::parse(schema, "response_format.json_schema.schema"));
  } catch (const Error& e) {
    throw ApiError(400, e.what(), p, "invalid_request_error", "unsupported_schema");
  }
}

// response_format: text (null), json_object or json_schema (OpenAI's shapes).
std::shared_ptr<const generate::JsonSchema> response_format(std::string_view body, const json& o) {
  const json* v = member(o, "response_format");
  if (!v) return nullptr;
  if (!v->is_object())
    bad("response_format", std::string("expected an object, got ") + type_name(*v));
  const json* type = member(*v, "type");
  const std::string t = type && type->is_string() ? type->get<std::string>() : "";
  if (t == "text") return nullptr;
  if (t == "json_object")
    return std::make_shared<const generate::JsonSchema>(generate::JsonSchema::any_object());
  if (t != "json_schema") {
    bad("response_format", "type: expected \"text\", \"json_object\" or \"json_schema\", got " +
                               (type ? type->dump() : std::string("nothing")));
  }
  const json* spec = member(*v, "json_schema");
  return json_schema(body, spec ? *spec : json());
}

std::vector<text::ChatMessage> chat_messages(const json& o) {
  const json* v = member(o, "messages");
  if (!v) bad("messages", "required");
  if (!v->is_array() || v->empty()) bad("messages", "expected a non-empty list of messages");
  std::vector<text::ChatMessage> out;
  for (size_t i = 0; i < v->size(); ++i) {
    const json& m = (*v)[i];
    const std::string p = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) bad(p, std::string("expected an object, got ") + type_name(m));
    text::ChatMessage msg;
    const json* role = member(m, "role");
    if (!role || !role->is_string()) bad(p + ".role", "expected a string");
    msg.role = role->get<std::string>();
    if (const json* c = member(m, "content")) {
      if (c->is_string()) {
        msg.content = c->get<std::string>();
      } else if (c->is_array()) {  // content parts: text only
        for (const json& part : *c) {
          if (!part.is_object() || part.value("type", json()) != json("text") ||
              !part.contains("text") || !part["text"].is_string())
            bad(p + ".content",
                "only text parts {\"type\": \"text\", \"text\": ...} are supported");
          msg.content += part["text"].get<std::string>();
        }
      } else {
        bad(p + ".content", std::string("expected a string, got ") + type_name(*c));
      }
    }
    out.push_back(std::move(msg));
  }
  return out;
}

void sampling_fields(const json& o, const RequestLimits& limits, CompletionRequest& r) {
  r.model = string_field(o, "model");
  r.max_tokens = integer(
      o, r.chat && member(o, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens", 0,
      limits.max_tokens);
  r.temperature = static_cast<float>(number(o, "temperature", 0, 2).value_or(1.0));
  r.top_p = static_cast<float>(number(o, "top_p", 0, 1).value_or(1.0));
  r.top_k = static_cast<int32_t>(integer(o, "top_k", 0, 1 << 20).value_or(0));
  r.min_p = static_cast<float>(number(o, "min_p", 0, 1).value_or(0.0));
  r.presence_penalty = static_cast<float>(number(o, "presence_penalty", -2, 2).value_or(0.0));
  r.frequency_penalty = static_cast<float>(number(o, "frequency_penalty", -2, 2).value_or(0.0));
  r.stop = stop_list(o, limits.max_stops);
  if (auto s = integer(o, "seed", std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::max()))
    r.seed = static_cast<uint64_t>(*s);
  r.n = integer(o, "n", 1, limits.max_n).value_or(1);
  if (auto b = integer(o, "best_of", 1, limits.max_n); b && *b != r.n)
    bad("best_of", "not supported (only equal to n)");
  r.stream = boolean(o, "stream", false);
}

}  // namespace

CompletionRequest parse_completion_request(std::string_view body, bool chat,
                                           const RequestLimits& limits) {
  const json o = parse_object(body);
  CompletionRequest r;
  r.chat = chat;
  refuse_unsupported(o);
  sampling_fields(o, limits, r);
  if (chat) {
    r.messages = chat_messages(o);
    const bool lp = boolean(o, "logprobs", false);
    auto top = integer(o, "top_logprobs", 0, limits.max_logprobs);
    if (top && !lp) bad("top_logprobs", "needs \"logprobs\": true");
    if (lp) r.logprobs = top.value_or(0);
  } else {
    const json* p = member(o, "prompt");
    if (!p) bad("prompt", "required");
    texts_or_tokens(*p, "prompt", limits.max_prompts, r.prompts, r.prompt_ids);
    r.logprobs = integer(o, "logprobs", 0, limits.max_logprobs).value_or(-1);
  }
  r.schema = response_format(body, o);
  r.echo = boolean(o, "echo", false);
  if (r.echo && chat) bad("echo", "not supported by chat completions (only false)");
  if (r.echo && r.schema) bad("echo", "not supported together with a JSON response_format");
  if (r.schema && !r.stop.empty())
    bad("stop", "not supported together with a JSON response_format (it could cut the JSON)");
  const int64_t n_prompts = chat ? 1 : static_cast<int64_t>(r.prompts.size() + r.prompt_ids.size());
  if (n_prompts * r.n > limits.max_prompts)
    bad("n", "prompts x n must be at most " + std::to_string(limits.max_prompts));
  if (r.stream && n_prompts * r.n > 1) bad("stream", "streams one choice only (n = 1, one prompt)");
  return r;
}

EmbeddingRequest parse_embedding_request(std::string_view body, const RequestLimits& limits) {
  const json o = parse_object(body);
  EmbeddingRequest r;
  r.model = string_field(o, "model");
  const json* in = member(o, "input");
  if (!in) bad("input", "required");
  texts_or_tokens(*in, "input", limits.max_inputs, r.texts, r.token_inputs);
  const std::string fmt = string_field(o, "encoding_format");
  if (fmt == "base64") {
    r.base64 = true;
  } else if (!fmt.empty() && fmt != "float") {
    bad("encoding_format", "expected \"float\" or \"base64\", got \"" + fmt + "\"");
  }
  const std::string trunc = string_field(o, "truncate");
  if (trunc == "chunk") {
    r.chunk = true;
  } else if (!trunc.empty() && trunc != "none") {
    bad("truncate", "expected \"none\" (refuse long inputs) or \"chunk\", got \"" + trunc + "\"");
  }
  if (member(o, "dimensions")) bad("dimensions", "not supported (set --dims on the server)");
  return r;
}

const char* search_mode_name(SearchKind mode) {
  switch (mode) {
    case SearchKind::kBm25:
      return "bm25";
    case SearchKind::kHybrid:
      return "hybrid";
    case SearchKind::kVector:
      break;
  }
  return "vector";
}

SearchQuery parse_search_request(std::string_view body, const RequestLimits& limits) {
  const json o = parse_object(body);
  SearchQuery r;
  r.model = string_field(o, "model");
  r.collection = string_field(o, "collection");
  if (r.collection.empty()) bad("collection", "required (a collection name)");
  const json* q = member(o, "query");
  if (!q) bad("query", "required");
  if (!q->is_string()) bad("query", std::string("expected a string, got ") + type_name(*q));
  r.query = q->get<std::string>();
  r.k = integer(o, "k", 1, limits.max_search_k).value_or(10);
  const std::string mode = string_field(o, "mode");
  if (mode == "bm25") {
    r.mode = SearchKind::kBm25;
  } else if (mode == "hybrid") {
    r.mode = SearchKind::kHybrid;
  } else if (!mode.empty() && mode != "vector") {
    bad("mode", "expected \"vector\", \"bm25\" or \"hybrid\", got \"" + mode + "\"");
  }
  r.ef = integer(o, "ef", 1, limits.max_search_ef).value_or(0);
  if (r.ef > 0 && r.mode == SearchKind::kBm25) bad("ef", "applies to modes vector and hybrid");
  r.rrf_k = number(o, "rrf_k", 0, 1e6);
  if (r.rrf_k && r.mode != SearchKind::kHybrid) bad("rrf_k", "applies to mode hybrid only");
  if (const json* w = member(o, "where")) {
    if (!w->is_object()) bad("where", std::string("expected an object, got ") + type_name(*w));
    try {
      r.where = retrieval::parse_filter(w->dump(), "where");
    } catch (const Error& e) {  // its message starts with "where: "
      throw ApiError(400, e.what(), "where");
    }
  }
  return r;
}

}  // namespace loom::server
