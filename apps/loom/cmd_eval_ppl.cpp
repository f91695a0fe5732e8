// `loom eval ppl`: perplexity of a model over a text file.
#include <cmath>
#include <cstdio>
#include <string>

#include "adapter_flags.h"
#include "cli.h"
#include "core/mapped_file.h"
#include "core/progress.h"
#include "eval/perplexity.h"
#include "generate/codec.h"
#include "models/model.h"

namespace {

using loom::cli::Args;
using loom::cli::UsageError;

int run_eval_ppl(const Args &args) {
  const std::string text_path = args.need("text");
  loom::eval::PerplexityOptions opt;
  opt.window = args.integer("window", 0);
  opt.stride = args.integer("stride", 0);
  if (opt.window < 0 || opt.stride < 0) throw UsageError{"--window and --stride must be >= 0"};
  loom::ThreadPool pool(args.threads());
  auto loaded = loom::cli::load_model_flags(args);
  auto model = loaded.model;
  auto codec = loom::generate::load_codec(*model, loaded.tokenizer);
  const std::string text = loom::read_file(text_path);
  std::vector<int32_t> ids = codec->encode(text, true);
  loom::Progress progress("perplexity", static_cast<int64_t>(ids.size()) - 1, "tok",
                          loom::stderr_is_tty());
  auto r = loom::eval::perplexity(*model, pool, ids, opt,
                                  [&](int64_t done, int64_t) { progress.update(done); });
  progress.finish();
  const int64_t window = opt.window > 0 ? opt.window : model->context_length();
  const int64_t stride = opt.stride > 0 ? opt.stride : window;
  if (args.json()) {
    std::printf(
        "{\"perplexity\": %.6f, \"mean_nll\": %.8f, \"tokens\": %zu, "
        "\"scored\": %lld, "
        "\"windows\": %lld, \"window\": %lld, \"stride\": %lld}\n",
        r.perplexity(), r.mean_nll(), ids.size(), static_cast<long long>(r.scored),
        static_cast<long long>(r.windows), static_cast<long long>(window),
        static_cast<long long>(stride));
  } else {
    std::printf(
        "perplexity\t%.6f\nmean_nll\t%.8f\ntokens\t%zu\nscored\t%"
        "lld\nwindows\t%lld\n",
        r.perplexity(), r.mean_nll(), ids.size(), static_cast<long long>(r.scored),
        static_cast<long long>(r.windows));
  }
  return 0;
}

}  // namespace

LOOM_COMMAND("eval ppl", "perplexity of a model over a text file (sliding windows)",
             {
                 {"model", "FILE", "model file (GGUF, safetensors, llama2.c .bin)", ""},
                 {"text", "FILE", "text file, tokenised whole", ""},
                 {"tokenizer", "FILE",
                  "SentencePiece .model or llama2.c .bin (default: the GGUF's own)", ""},
                 loom::cli::adapter_flag(),
                 {"window", "W", "tokens per window (0 = the model's context length)", "0"},
                 {"stride", "S",
                  "window start step; tokens already scored are context only (0 = W)", "0"},
             },
             run_eval_ppl,
             "Convention: the whole file is tokenised as one string (bytes as they are) "
             "with BOS\n"
             "prepended; windows of W tokens start at 0, S, 2S, ... from an empty "
             "cache; each token\n"
             "is scored once, by the first window that predicts it; token 0 is never "
             "scored.\n"
             "PPL = exp(mean negative log-likelihood). Example:\n"
             "  loom eval ppl --model stories260K.bin --tokenizer tok512.model --text "
             "wiki.test.raw");
