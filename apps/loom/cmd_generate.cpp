// `loom generate`: text from a model file (GGUF, safetensors + config.json,
// llama2.c .bin).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "adapter_flags.h"
#include "cli.h"
#include "core/error.h"
#include "core/lines.h"
#include "core/mapped_file.h"
#include "generate/batch_decode.h"
#include "generate/codec.h"
#include "generate/generator.h"
#include "models/model.h"

namespace {

using loom::cli::Args;

// CPU seconds (user + system, all threads) used by this process so far.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}
using loom::cli::UsageError;

long peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;  // ru_maxrss is in KiB on Linux
}

loom::generate::SamplerConfig sampler_flags(const Args &args) {
  loom::generate::SamplerConfig sc;
  sc.temperature = static_cast<float>(args.number("temperature", 1.0));
  sc.top_p = static_cast<float>(args.number("top-p", 0.9));
  sc.top_k = static_cast<int32_t>(args.integer("top-k", 0));
  sc.min_p = static_cast<float>(args.number("min-p", 0.0));
  sc.repetition_penalty = static_cast<float>(args.number("repeat-penalty", 1.0));
  sc.frequency_penalty = static_cast<float>(args.number("frequency-penalty", 0.0));
  sc.presence_penalty = static_cast<float>(args.number("presence-penalty", 0.0));
  sc.penalty_last_n = static_cast<int32_t>(args.integer("repeat-last-n", 64));
  sc.seed = args.has("seed") ? static_cast<uint64_t>(args.integer("seed", 0))
                             : static_cast<uint64_t>(std::time(nullptr));
  if (sc.temperature < 0) throw UsageError{"--temperature must be >= 0"};
  if (sc.top_p < 0 || sc.top_p > 1) throw UsageError{"--top-p must be in [0, 1]"};
  if (sc.top_k < 0) throw UsageError{"--top-k must be >= 0"};
  if (sc.min_p < 0 || sc.min_p > 1) throw UsageError{"--min-p must be in [0, 1]"};
  if (sc.repetition_penalty <= 0) throw UsageError{"--repeat-penalty must be > 0"};
  return sc;
}

loom::generate::SamplerKind sampler_kind(const Args &args,
                                         const loom::generate::SamplerConfig &sc) {
  const std::string sampler = args.str("sampler", "auto");
  if (sampler == "llama2c") return loom::generate::SamplerKind::Llama2c;
  if (sampler == "standard") return loom::generate::SamplerKind::Standard;
  if (sampler != "auto")
    throw UsageError{"--sampler: expected auto, standard or llama2c, got '" + sampler + "'"};
  return loom::generate::auto_sampler_kind(sc);
}

loom::generate::GenerateOptions generate_flags(const Args &args) {
  loom::generate::GenerateOptions opt;
  opt.steps = args.integer("steps", 256);
  opt.max_new_tokens = args.integer("max-tokens", -1);
  opt.beams = static_cast<int>(args.integer("beams", 1));
  opt.length_penalty = static_cast<float>(args.number("length-penalty", 1.0));
  opt.early_stopping = loom::generate::parse_early_stopping(args.str("early-stopping", "false"));
  opt.no_repeat_ngram_size = static_cast<int>(args.integer("no-repeat-ngram", 0));
  opt.min_new_tokens = args.integer("min-tokens", 0);
  if (args.has("stop")) opt.stop.push_back(args.str("stop"));
  if (args.flag("ignore-eos")) opt.stop_at_eos = false;
  if (opt.steps < 0) throw UsageError{"--steps must be >= 0"};
  if (opt.beams < 1 || opt.beams > 64) throw UsageError{"--beams must be in 1..64"};
  if (opt.no_repeat_ngram_size < 0) throw UsageError{"--no-repeat-ngram must be >= 0"};
  if (opt.min_new_tokens < 0) throw UsageError{"--min-tokens must be >= 0"};
  return opt;
}

void print_json(const loom::generate::GenerateResult &res) {
  std::string toks;
  for (size_t i = 0; i < res.tokens.size(); ++i)
    toks += (i ? "," : "") + std::to_string(res.tokens[i]);
  std::printf(
      "{\"text\": %s, \"prompt_tokens\": %zu, \"tokens\": [%s], "
      "\"stop_reason\": %s}\n",
      loom::cli::json_quote(res.text).c_str(), res.prompt.size(), toks.c_str(),
      loom::cli::json_quote(res.stop_reason).c_str());
}

// The model and speed lines on stderr.
void print_stats(const loom::models::Model &model, double load_s, int threads,
                 const loom::generate::GenerateResult &res, double cpu) {
  std::fprintf(stderr, "loom generate: %s (%s), weights %.1f MB, loaded in %.3f s, %d thread(s)\n",
               model.config().describe().c_str(), model.weights().format().c_str(),
               static_cast<double>(model.weight_bytes()) / 1e6, load_s, threads);
  const double n_new = static_cast<double>(res.tokens.size());
  std::fprintf(
      stderr,
      "loom generate: prompt %zu tokens in %.3f s (%.1f tok/s), "
      "generated %zu tokens in "
      "%.3f s (%.1f tok/s), stop: %s, cpu %.3f s, peak rss %ld MB\n",
      res.prompt.size(), res.prompt_seconds,
      res.prompt_seconds > 0 ? static_cast<double>(res.prompt.size()) / res.prompt_seconds : 0.0,
      res.tokens.size(), res.decode_seconds,
      res.decode_seconds > 0 ? (n_new > 1 ? n_new - 1 : n_new) / res.decode_seconds : 0.0,
      res.stop_reason.c_str(), cpu, peak_rss_mb());
}

// --prompts FILE: every non-blank line a prompt (BOS first), each its own sequence of one
// BatchDecoder (standard sampler, seed + line index), all decoded together.
std::vector<loom::generate::SequenceId> add_prompts(const Args &args,
                                                    const loom::generate::TokenCodec &codec,
                                                    const loom::generate::SamplerConfig &sc,
                                                    loom::generate::BatchDecoder &dec) {
  const std::string path = args.str("prompts");
  const int64_t max_new = args.integer("max-tokens", 256);
  if (max_new < 1) throw UsageError{"--max-tokens must be >= 1"};
  std::vector<loom::generate::SequenceId> ids;
  loom::for_each_nonblank_line(loom::read_file(path), [&](std::string_view line, size_t no) {
    if (line.back() == '\r') line.remove_suffix(1);
    loom::generate::SequenceRequest r{codec.encode(line, true), sc, max_new, {}};
    r.sampler.seed = sc.seed + ids.size();
    if (!args.flag("ignore-eos")) r.stop_tokens = {codec.eos_id(), codec.bos_id()};
    try {
      ids.push_back(dec.add(std::move(r)));
    } catch (const loom::Error &e) {
      throw loom::Error(path + ":" + std::to_string(no) + ": " + e.what());
    }
  });
  if (ids.empty()) throw loom::Error(path + ": no prompts (one per line)");
  return ids;
}

// One JSON line per prompt, in file order: its text, its token ids and why it stopped.
void print_batch_result(const loom::generate::BatchDecoder &dec, loom::generate::SequenceId id,
                        const loom::generate::TokenCodec &codec, int32_t last_prompt_token) {
  auto t = dec.tokens(id);
  const auto reason = dec.finish_reason(id);
  const bool eos = reason == loom::generate::FinishReason::Stop;
  if (eos) t = t.first(t.size() - 1);  // the EOS/BOS that ended it is not text
  std::string text, toks;
  int32_t prev = last_prompt_token;
  for (size_t i = 0; i < t.size(); ++i) {
    text += codec.piece_text(prev, t[i]);
    prev = t[i];
    if (i) toks += ',';
    toks += std::to_string(t[i]);
  }
  std::printf("{\"text\": %s, \"tokens\": [%s], \"stop_reason\": \"%s\"}\n",
              loom::cli::json_quote(text).c_str(), toks.c_str(),
              eos ? "eos" : loom::generate::finish_reason_name(reason));
}

int run_batch(const Args &args, const loom::generate::SamplerConfig &sc) {
  loom::ThreadPool pool(args.threads());
  auto loaded = loom::cli::load_model_flags(args);
  auto codec = loom::generate::load_codec(*loaded.model, loaded.tokenizer);
  const int64_t cache_mb = args.integer("prefix-cache", 0);
  if (cache_mb < 0) throw UsageError{"--prefix-cache must be >= 0 (MB)"};
  loom::generate::PrefixCache cache(*loaded.model, static_cast<size_t>(cache_mb) << 20);
  loom::generate::BatchDecoder dec(*loaded.model, pool, {512, cache_mb > 0 ? &cache : nullptr});
  const auto ids = add_prompts(args, *codec, sc, dec);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t n = 0;
  while (dec.live() > 0) n += static_cast<int64_t>(dec.step().size());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto id : ids) print_batch_result(dec, id, *codec, dec.prompt(id).back());
  std::fprintf(stderr,
               "loom generate: %zu sequences, %lld tokens in %.3f s (%.1f tok/s aggregate, "
               "prefill included)\n",
               ids.size(), static_cast<long long>(n), s, s > 0 ? static_cast<double>(n) / s : 0.0);
  if (cache_mb > 0)
    std::fprintf(stderr, "loom generate: prefix cache reused %lld of %lld prompt tokens\n",
                 static_cast<long long>(cache.stats().reused),
                 static_cast<long long>(cache.stats().reused + cache.stats().prefilled));
  return 0;
}

int run_generate(const Args &args) {
  const loom::generate::SamplerConfig sc = sampler_flags(args);
  const loom::generate::SamplerKind kind = sampler_kind(args, sc);
  if (args.has("prompts")) return run_batch(args, sc);
  const loom::generate::GenerateOptions opt = generate_flags(args);
  loom::ThreadPool pool(args.threads());
  auto t0 = std::chrono::steady_clock::now();
  auto loaded = loom::cli::load_model_flags(args);
  auto model = loaded.model;
  auto codec = loom::generate::load_codec(*model, loaded.tokenizer);
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  loom::generate::Generator gen(*model, *codec, pool);
  const std::string prompt = args.str("prompt", "");
  const bool json = args.json();
  if (args.flag("echo") && !json) {
    auto ids = codec->encode(prompt, true);
    for (size_t i = 1; i < ids.size(); ++i)
      std::fputs(codec->piece_text(ids[i - 1], ids[i]).c_str(), stdout);
  }
  loom::generate::Utf8Stream utf8;  // never prints half a UTF-8 character
  auto stream = [&](std::string_view s) {
    if (json) return;
    std::string out = utf8.push(s);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  };
  const double cpu0 = cpu_seconds();
  auto res = gen.generate(prompt, opt, sc, kind, stream);
  const double cpu = cpu_seconds() - cpu0;
  if (json) {
    print_json(res);
  } else {
    std::string rest = utf8.flush();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::printf("\n");
  }
  std::fflush(stdout);
  print_stats(*model, load_s, pool.size(), res, cpu);
  return 0;
}

}  // namespace

LOOM_COMMAND("generate",
             "generate text with a Llama or GPT-2 model (GGUF, safetensors, llama2.c "
             ".bin)",
             {
                 {"model", "FILE",
                  "model: .gguf, .safetensors (config.json beside it) or a Hugging Face "
                  "model directory, llama2.c .bin",
                  ""},
                 {"tokenizer", "FILE",
                  "SentencePiece .model, llama2.c tokenizer .bin, tokenizer.json, encoder.json... "
                  "(default: the GGUF's own, or tokenizer.json in the model's directory)",
                  ""},
                 loom::cli::adapter_flag(),
                 {"prompt", "TEXT", "prompt text (BOS is always prepended)", "\"\""},
                 {"steps", "N",
                  "forward steps as llama2.c's -n: positions including the prompt's "
                  "(BOS included); 0 = context length",
                  "256"},
                 {"max-tokens", "N", "at most N new tokens", ""},
                 {"temperature", "T", "sampling temperature; 0 = greedy", "1.0"},
                 {"top-p", "P", "nucleus sampling; 1 = off", "0.9"},
                 {"top-k", "K", "keep the K most likely tokens; 0 = off", "0"},
                 {"min-p", "P", "drop tokens below P * the top probability; 0 = off", "0"},
                 {"repeat-penalty", "R",
                  "divide positive / multiply negative logits of recent tokens", "1.0"},
                 {"frequency-penalty", "F", "subtract F * count of each recent token", "0"},
                 {"presence-penalty", "F", "subtract F from every recent token", "0"},
                 {"repeat-last-n", "N", "window of recent tokens for the penalties (0 = all)",
                  "64"},
                 {"seed", "S", "random seed", "time"},
                 {"sampler", "NAME",
                  "auto | standard | llama2c (run.c's xorshift RNG and top-p; auto "
                  "picks it unless top-k, min-p or penalties are set)",
                  "auto"},
                 {"beams", "B",
                  "beam search with B beams, Hugging Face's semantics (deterministic; the "
                  "sampler flags are ignored)",
                  "1"},
                 {"length-penalty", "A",
                  "beams: score = sum of log-probs / (new tokens, EOS included)^A", "1.0"},
                 {"early-stopping", "WHEN",
                  "beams: true (stop at B finished), false (when none can do better), never",
                  "false"},
                 {"no-repeat-ngram", "N", "beams: never repeat an n-gram of N tokens (0 = off)",
                  "0"},
                 {"min-tokens", "N", "beams: no EOS before N new tokens", "0"},
                 {"stop", "STR", "stop before this string", ""},
                 {"ignore-eos", "", "keep going past EOS/BOS", ""},
                 {"echo", "", "print the prompt before the generated text", ""},
                 {"prompts", "FILE",
                  "batched decode: every line a prompt, all decoded together (standard "
                  "sampler, --seed + line index); one JSON line per prompt; --max-tokens "
                  "(default 256) bounds each",
                  ""},
                 {"prefix-cache", "MB",
                  "with --prompts: reuse shared prompt prefixes' KV rows, up to MB (0 = off)",
                  "0"},
             },
             run_generate,
             "Prints the generated text alone on stdout (streamed, newline at the end); "
             "load details and\n"
             "tokens/s go to stderr. Example:\n"
             "  loom generate --model stories260K.bin --tokenizer tok512.bin "
             "--temperature 0 --steps 200");
