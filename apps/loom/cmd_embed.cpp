// `loom embed`: texts (lines or JSONL) -> float32 .npy of embeddings plus an ids file.
#include "cmd_embed.h"

#include "adapter_flags.h"

#include <cstdio>
#include <string>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/progress.h"
#include "embed/inputs.h"
#include "embed/load.h"
#include "index/npy.h"

namespace loom::cli {

std::vector<Flag> embedder_flags() {
  return {
      {"model", "FILE", "model (GGUF, safetensors, llama2.c .bin)", ""},
      {"tokenizer", "FILE",
       "SentencePiece .model, llama2.c .bin, tokenizer.json, vocab.txt or encoder.json "
       "(default: the GGUF's own, or tokenizer.json beside the model)",
       ""},
      adapter_flag(),
      {"pooling", "MODE", "mean, cls, last or weighted-mean (default: the model's, else mean)", ""},
      {"normalize", "", "L2-normalise the vectors (default: the model's, else on)", ""},
      {"no-normalize", "", "keep the pooled vectors as they are", ""},
      {"dims", "N", "Matryoshka: keep the first N values (then normalise)", ""},
      {"max-tokens", "N",
       "tokens per text, longer ones truncated (0 = context length; default: the model's "
       "sentence_bert_config.json max_seq_length, else 0)",
       ""},
  };
}

std::unique_ptr<embed::Embedder> make_embedder(const Args& a) {
  embed::EmbedderOptions o;
  o.tokenizer = a.str("tokenizer");
  if (a.has("pooling")) o.pooling = embed::pooling_from_name(a.str("pooling"));
  if (a.flag("normalize") && a.flag("no-normalize"))
    throw UsageError{"--normalize and --no-normalize contradict each other"};
  if (a.flag("normalize")) o.normalize = true;
  if (a.flag("no-normalize")) o.normalize = false;
  if (a.has("dims")) {
    o.dims = a.integer("dims", 0);
    if (*o.dims < 0) throw UsageError{"--dims must be >= 0"};
  }
  if (a.has("max-tokens")) o.max_tokens = a.integer("max-tokens", 0);
  ModelWithTokenizer m = load_model_flags(a);
  o.tokenizer = m.tokenizer;
  embed::LoadedEmbedder loaded = embed::load_embedder(m.model, a.need("model"), o);
  const embed::Embedder& e = *loaded.embedder;
  std::fprintf(stderr, "embedder: %s pooling (%s), %s, %lld dims, up to %lld tokens per text\n",
               embed::pooling_name(e.config().pooling),
               loaded.config_from_model ? "model files" : "default",
               e.config().normalize ? "L2-normalised" : "not normalised", (long long)e.dim(),
               (long long)e.max_tokens());
  return std::move(loaded.embedder);
}

// Embeds with a progress bar; says how many texts were truncated or empty.
std::vector<float> embed_with_progress(const embed::Embedder& e, std::span<const std::string> texts,
                                       ThreadPool& pool, const std::string& what,
                                       embed::EmbedStats* stats_out) {
  std::vector<float> out(texts.size() * static_cast<size_t>(e.dim()));
  Progress progress(what, static_cast<int64_t>(texts.size()), "texts", stderr_is_tty());
  embed::EmbedStats st =
      e.embed(texts, pool, out.data(), [&](int64_t done) { progress.update(done); });
  progress.finish();
  if (st.truncated > 0) {
    std::fprintf(stderr, "%s: %lld of %lld texts truncated to their first %lld tokens\n",
                 what.c_str(), (long long)st.truncated, (long long)st.texts,
                 (long long)e.max_tokens());
  }
  if (st.empty > 0) {
    std::fprintf(stderr, "%s: %lld texts gave no tokens; their vectors are zero\n", what.c_str(),
                 (long long)st.empty);
  }
  if (stats_out) *stats_out = st;
  return out;
}

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t e = s.find(',', pos);
    if (e == std::string::npos) e = s.size();
    if (e > pos) out.push_back(s.substr(pos, e - pos));
    pos = e + 1;
  }
  return out;
}

int run_embed(const Args& a) {
  const std::string input = a.need("input"), output = a.need("output");
  if (output.size() < 5 || output.compare(output.size() - 4, 4, ".npy") != 0)
    throw UsageError{"--output must name a .npy file"};
  const bool jsonl = a.has("field") || a.has("id-field") ||
                     (input.size() >= 6 && input.compare(input.size() - 6, 6, ".jsonl") == 0);
  embed::JsonlOptions jo;
  jo.fields = split_commas(a.str("field", "text"));
  jo.id_field = a.str("id-field", "_id");
  jo.skip_malformed = a.flag("skip-bad-lines");
  std::vector<std::string> issues;
  jo.issues = &issues;
  embed::TextItems items = embed::read_items(input, jsonl, jo);
  for (const auto& s : issues) std::fprintf(stderr, "skipped %s\n", s.c_str());
  if (items.texts.empty()) throw Error(input + ": no texts to embed");
  auto e = make_embedder(a);
  ThreadPool pool(a.threads());
  embed::EmbedStats st;
  std::vector<float> v = embed_with_progress(*e, items.texts, pool, "embed", &st);
  if (a.has("save-config")) {
    embed::save_config(a.str("save-config"), e->config());
    std::fprintf(stderr, "pooling config written to %s/1_Pooling/config.json\n",
                 a.str("save-config").c_str());
  }
  const int64_t rows = static_cast<int64_t>(items.texts.size());
  std::string ids;
  for (const auto& id : items.ids) ids += id + "\n";
  index::write_npy_f32(output, v.data(), rows, e->dim());
  const std::string ids_path = output.substr(0, output.size() - 4) + ".ids.txt";
  write_file_atomic(ids_path, ids);
  if (a.json()) {
    std::printf(
        "{\"rows\": %lld, \"dims\": %lld, \"tokens\": %lld, \"truncated\": %lld, \"skipped\": "
        "%zu, \"output\": %s, \"ids\": %s}\n",
        (long long)rows, (long long)e->dim(), (long long)st.tokens, (long long)st.truncated,
        issues.size(), json_quote(output).c_str(), json_quote(ids_path).c_str());
  } else {
    std::printf(
        "wrote %lld x %lld float32 to %s and %lld ids to %s (%lld tokens, %lld truncated)\n",
        (long long)rows, (long long)e->dim(), output.c_str(), (long long)rows, ids_path.c_str(),
        (long long)st.tokens, (long long)st.truncated);
  }
  return 0;
}

std::vector<Flag> embed_command_flags() {
  std::vector<Flag> f = {
      {"input", "FILE", "texts: one per non-empty line, or JSONL (*.jsonl or --field)", ""},
      {"output", "X.npy", "float32 (rows, dims); ids go to X.ids.txt, one per line", ""},
      {"field", "F[,F]", "JSONL: text field(s), joined with a space (e.g. title,text)", "text"},
      {"id-field", "F", "JSONL: id field (\"\" = line number)", "_id"},
      {"skip-bad-lines", "", "skip malformed JSONL lines (listed on stderr) instead of stopping",
       ""},
      {"save-config", "DIR",
       "also store the pooling used as DIR/1_Pooling/config.json (read back from a model in DIR)",
       ""},
  };
  for (auto& x : embedder_flags()) f.push_back(x);
  return f;
}

}  // namespace
}  // namespace loom::cli

LOOM_COMMAND("embed", "embed texts with a model: .npy (float32) plus ids",
             loom::cli::embed_command_flags(), loom::cli::run_embed,
             "Each text is tokenised with the model's tokenizer (BOS included), run through the\n"
             "model, its final hidden states pooled (over every token), optionally truncated\n"
             "to --dims and L2-normalised. Pooling is read from the model's files when present\n"
             "(sentence-transformers 1_Pooling/config.json + modules.json beside the model, or\n"
             "GGUF <arch>.pooling_type); flags override. Texts are spread over --threads.\n"
             "Example:\n"
             "  loom embed --model stories260K.bin --tokenizer tok512.model --input lines.txt\n"
             "    --output vecs.npy --pooling mean --threads 2");
