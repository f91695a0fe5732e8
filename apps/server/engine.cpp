#include "server/engine.h"

#include <filesystem>
#include <random>

#include "core/error.h"
#include "embed/load.h"
#include "generate/codec.h"

namespace loom::server {

namespace fs = std::filesystem;

namespace {

// tokenizer_config.json beside the model (in it, when the model path is a folder).
std::string find_chat_config(const std::string& model_path) {
  std::error_code ec;
  fs::path p(model_path);
  fs::path dir = fs::is_directory(p, ec) ? p : p.parent_path();
  fs::path cfg = (dir.empty() ? fs::path(".") : dir) / "tokenizer_config.json";
  return fs::is_regular_file(cfg, ec) ? cfg.string() : "";
}

void check_ids(const std::vector<int32_t>& ids, int64_t vocab, const std::string& param) {
  for (int32_t t : ids)
    if (t >= vocab)
      throw ApiError(400,
                     "'" + param + "': token id " + std::to_string(t) +
                         " is outside the vocabulary of " + std::to_string(vocab),
                     param);
}

}  // namespace

Engine::Engine(std::shared_ptr<const models::Model> model, const EngineOptions& o)
    : model_(std::move(model)) {
  codec_ = generate::load_codec(*model_, o.tokenizer);
  token_texts_ = std::make_unique<generate::TokenTexts>(generate::TokenTexts::from_codec(*codec_));
  embed::EmbedderOptions eo;
  eo.tokenizer = o.tokenizer;
  if (o.embed_max_tokens >= 0) eo.max_tokens = o.embed_max_tokens;
  embedder_ = embed::load_embedder(model_, o.model_path, eo).embedder;
  name_ = o.name.empty() ? fs::path(o.model_path).filename().string() : o.name;
  const std::string cfg = o.chat_config.empty() ? find_chat_config(o.model_path) : o.chat_config;
  if (cfg.empty()) {
    no_chat_reason_ = "no tokenizer_config.json beside " + o.model_path +
                      " (start the server with --chat-template FILE)";
    return;
  }
  try {
    text::ChatTemplateConfig c = text::read_chat_template_config(cfg);
    chat_.emplace(c.source, cfg);
    chat_tokens_ = c.tokens;
  } catch (const Error& e) {
    if (!o.chat_config.empty()) throw;  // named explicitly: a bad file is an error at start
    no_chat_reason_ = e.what();
  }
}

Engine::~Engine() = default;

std::vector<int32_t> Engine::chat_prompt(const std::vector<text::ChatMessage>& messages) const {
  if (!chat_) {
    throw ApiError(400, "model '" + name_ + "' has no chat template: " + no_chat_reason_,
                   "messages", "invalid_request_error", "no_chat_template");
  }
  std::string text;
  try {
    text = chat_->render(messages, true, chat_tokens_);
  } catch (const Error& e) {
    throw ApiError(400, std::string("chat template: ") + e.what(), "messages");
  }
  // The codec puts BOS in front itself; a template that writes bos_token would double it
  // (transformers tokenises the rendered text without adding special tokens).
  const std::string& bos = chat_tokens_.bos_token;
  if (!bos.empty() && text.compare(0, bos.size(), bos) == 0) text.erase(0, bos.size());
  return codec_->encode(text, true);
}

PreparedCompletion Engine::prepare(const CompletionRequest& r, int64_t default_max_tokens) const {
  PreparedCompletion p;
  p.request = r;
  if (r.chat) {
    p.prompts.push_back(chat_prompt(r.messages));
  } else {
    for (const std::string& s : r.prompts) p.prompts.push_back(codec_->encode(s, true));
    for (size_t i = 0; i < r.prompt_ids.size(); ++i) {
      const std::string param =
          r.prompt_ids.size() > 1 ? "prompt[" + std::to_string(i) + "]" : "prompt";
      if (r.prompt_ids[i].empty()) throw ApiError(400, "'" + param + "': no tokens", param);
      check_ids(r.prompt_ids[i], model_->vocab_size(), param);
      p.prompts.push_back(r.prompt_ids[i]);
    }
  }
  const int64_t ctx = model_->context_length();
  for (size_t i = 0; i < p.prompts.size(); ++i) {
    const int64_t n = static_cast<int64_t>(p.prompts[i].size());
    if (n >= ctx) {
      const std::string param = r.chat ? "messages" : "prompt";
      throw ApiError(400,
                     "'" + param + "': prompt " + std::to_string(i) + " has " + std::to_string(n) +
                         " tokens; the model's context is " + std::to_string(ctx) + " tokens",
                     param, "invalid_request_error", "context_length_exceeded");
    }
  }
  p.max_tokens = r.max_tokens.value_or(default_max_tokens);
  return p;
}

// One run() call's shared state.
struct Engine::Run {
  const PreparedCompletion& p;
  generate::Generator& gen;
  ThreadPool& pool;
  const std::function<void(std::string_view)>& on_text;
  const std::function<void(const TokenInfo&)>& on_token;
  CompletionOutput& out;
};

TokenInfo Engine::token_info(int32_t prev, int32_t token, const generate::TokenLogprobs* lp) const {
  TokenInfo info{codec_->piece_text(prev, token), 0, {}, lp != nullptr};
  if (lp == nullptr) return info;
  info.logprob = lp->logprob;
  for (const auto& [id, l] : lp->top) info.top.emplace_back(codec_->piece_text(prev, id), l);
  return info;
}

Choice Engine::echo(Run& run, size_t prompt) const {
  const CompletionRequest& r = run.p.request;
  const std::vector<int32_t>& ids = run.p.prompts[prompt];
  Choice c;
  std::vector<TokenInfo> infos;
  std::vector<generate::TokenLogprobs> lps;
  if (r.logprobs >= 0)
    lps = generate::prompt_logprobs(*model_, run.pool, ids, static_cast<int>(r.logprobs));
  for (size_t t = 0; t < ids.size(); ++t) {
    infos.push_back(token_info(t == 0 ? -1 : ids[t - 1], ids[t], t == 0 ? nullptr : &lps[t - 1]));
    if (prompt >= r.prompts.size()) c.text += infos.back().text;  // a token-id prompt
  }
  if (prompt < r.prompts.size()) c.text = r.prompts[prompt];
  if (r.logprobs >= 0) {
    if (run.on_token)
      for (const TokenInfo& info : infos) run.on_token(info);
    c.logprobs = std::move(infos);
  }
  if (run.on_text && !c.text.empty()) run.on_text(c.text);
  return c;
}

Choice Engine::run_one(Run& run, size_t prompt, int64_t j) const {
  const CompletionRequest& r = run.p.request;
  generate::SamplerConfig sc;
  sc.temperature = r.temperature;
  sc.top_p = r.top_p;
  sc.top_k = r.top_k;
  sc.min_p = r.min_p;
  sc.presence_penalty = r.presence_penalty;
  sc.frequency_penalty = r.frequency_penalty;
  sc.seed = (r.seed ? *r.seed : std::random_device{}()) + static_cast<uint64_t>(j);
  generate::GenerateOptions opt;
  opt.steps = 0;  // up to the context
  opt.max_new_tokens = run.p.max_tokens;
  opt.stop = r.stop;
  opt.logprobs = static_cast<int>(r.logprobs);
  std::optional<generate::JsonConstraint> constraint;
  if (r.schema) opt.constraint = &constraint.emplace(*r.schema, *token_texts_);
  const std::vector<int32_t>& ids = run.p.prompts[prompt];
  int32_t prev = ids.back();
  if (run.on_token) {
    opt.on_token = [&](int32_t token, const generate::TokenLogprobs* lp) {
      run.on_token(token_info(prev, token, lp));
      prev = token;
    };
  }
  Choice c = r.echo ? echo(run, prompt) : Choice{};
  const generate::GenerateResult res =
      run.gen.generate_ids(ids, opt, sc, generate::auto_sampler_kind(sc), run.on_text);
  c.index = static_cast<int64_t>(prompt) * r.n + j;
  c.text += res.text;
  c.finish_reason = res.stop_reason == "eos" || res.stop_reason == "stop" ? "stop" : "length";
  if (r.logprobs >= 0) {
    std::vector<TokenInfo> infos = c.logprobs.value_or(std::vector<TokenInfo>{});
    for (size_t t = 0; t < res.tokens.size(); ++t)
      infos.push_back(
          token_info(t == 0 ? ids.back() : res.tokens[t - 1], res.tokens[t], &res.logprobs[t]));
    c.logprobs = std::move(infos);
  }
  run.out.usage.completion_tokens += static_cast<int64_t>(res.tokens.size());
  run.out.decode_seconds += res.decode_seconds;
  return c;
}

CompletionOutput Engine::run(const PreparedCompletion& p,
                             const std::function<void(std::string_view)>& on_text,
                             const std::function<void(const TokenInfo&)>& on_token) const {
  ThreadPool one(1);  // this request's forward passes run on the calling worker alone
  generate::Generator gen(*model_, *codec_, one);
  CompletionOutput out;
  Run run{p, gen, one, on_text, on_token, out};
  for (size_t i = 0; i < p.prompts.size(); ++i) {
    out.usage.prompt_tokens += static_cast<int64_t>(p.prompts[i].size());
    for (int64_t j = 0; j < p.request.n; ++j) out.choices.push_back(run_one(run, i, j));
  }
  return out;
}

EmbeddingOutput Engine::embed(const EmbeddingRequest& r) const {
  std::vector<std::vector<int32_t>> inputs = r.token_inputs;
  for (const std::string& s : r.texts) inputs.push_back(embedder_->encode(s));
  const int64_t window = embedder_->max_tokens();
  EmbeddingOutput out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string param = "input[" + std::to_string(i) + "]";
    check_ids(inputs[i], model_->vocab_size(), param);
    const int64_t n = static_cast<int64_t>(inputs[i].size());
    if (n > window && !r.chunk) {
      throw ApiError(400,
                     "'" + param + "': " + std::to_string(n) +
                         " tokens exceed the model's window of " + std::to_string(window) +
                         " tokens (send \"truncate\": \"chunk\" to embed it in windows)",
                     param, "invalid_request_error", "context_length_exceeded");
    }
    out.tokens += n;
  }
  out.dim = embedder_->dim();
  out.vectors.resize(inputs.size() * static_cast<size_t>(out.dim));
  ThreadPool one(1);
  embedder_->embed_tokens(inputs, one, out.vectors.data(), r.chunk);
  return out;
}

}  // namespace loom::server
