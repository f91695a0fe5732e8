// `loom train-embed`: contrastive fine-tuning of a causal LM into a text embedder (InfoNCE with
// in-batch negatives, optional hard negatives, Matryoshka dims) on a pairs file, through the
// training engine. The output is a Hugging Face directory that records its pooling and
// normalisation the sentence-transformers way (modules.json + 1_Pooling/config.json), so
// `loom embed --model DIR` and `loom eval retrieval --model DIR` use them with no flags.
// Parsing and printing only: the run is train/contrastive_run.h.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "embed/load.h"
#include "embed/pooling.h"
#include "train/contrastive_run.h"
#include "train_flags.h"

namespace {

using loom::Error;
using loom::cli::Args;
using loom::cli::schedule_flags;
using loom::cli::split_commas;
using loom::cli::UsageError;

std::vector<int64_t> parse_dims(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (*end != '\0' || v <= 0)
      throw UsageError{"flag --matryoshka: '" + item + "' is not a positive integer"};
    out.push_back(v);
  }
  if (out.empty()) throw UsageError{"flag --matryoshka: expected dims like 64,32"};
  return out;
}

// --train and --lora-*.
void mode_flags(const Args& a, loom::train::ContrastiveRunOptions& o) {
  o.mode = loom::train::parse_train_mode(a.str("train", "all"));
  if (o.mode.new_embeddings) throw UsageError{"--train for train-embed: all or lora"};
  if (o.mode.lora) {
    loom::train::LoraOptions lora;
    lora.rank = a.integer("lora-rank", 8);
    if (lora.rank <= 0) throw UsageError{"flag --lora-rank: expected > 0"};
    if (a.has("lora-alpha")) lora.alpha = static_cast<float>(a.number("lora-alpha", 0));
    lora.targets = split_commas(a.str("lora-targets"));
    o.lora = lora;
  } else if (a.has("lora-rank") || a.has("lora-alpha") || a.has("lora-targets")) {
    throw UsageError{"--lora-* flags need --train lora"};
  }
}

loom::train::ContrastiveRunOptions run_options(const Args& a) {
  loom::train::ContrastiveRunOptions o;
  o.out = a.need("out");
  o.init = a.need("init");
  o.pairs = a.need("pairs");
  o.tokenizer = a.str("tokenizer");
  o.skip_bad = a.flag("skip-bad");
  o.resume = a.flag("resume");
  if (a.has("max-tokens") && a.integer("max-tokens", 0) <= 0)
    throw UsageError{"flag --max-tokens: expected > 0"};
  o.max_tokens = a.integer("max-tokens", 0);
  mode_flags(a, o);
  loom::train::ContrastiveConfig& tc = o.train;
  tc.batch = a.integer("batch", 32);
  tc.pooling = loom::pooling_from_name(a.str("pooling", "mean"));
  tc.loss.temperature = static_cast<float>(a.number("temperature", 0.05));
  tc.loss.symmetric = a.flag("symmetric");
  if (a.has("matryoshka")) tc.matryoshka = parse_dims(a.str("matryoshka"));
  tc.hard_negatives = !a.flag("no-hard-negatives");
  o.steps = a.integer("steps", 200);
  if (o.steps <= 0) throw UsageError{"flag --steps: expected > 0"};
  tc.schedule = schedule_flags(a, 1e-3, std::min<int64_t>(20, o.steps / 10));
  tc.adamw.weight_decay = static_cast<float>(a.number("wd", 0.01));
  tc.clip = static_cast<float>(a.number("clip", 1.0));
  tc.seed = static_cast<uint64_t>(a.integer("seed", 1));
  tc.compute = a.flag("bf16") ? loom::nn::Compute::BF16 : loom::nn::Compute::F32;
  o.save_every = a.integer("save-every", 100);
  o.stop_at = a.integer("stop-at", 0);
  return o;
}

// --probe FILE: the trained model's vectors of FILE's lines as the training graph computes them
// (pooled, L2-normalised, --embed-dims applied), one line of numbers per text, for checking that
// `loom embed --model DIR` gives the same.
void write_probe(const Args& a, loom::train::ContrastiveRun& run,
                 const loom::embed::EmbedConfig& ec) {
  std::istringstream in(loom::read_file(a.str("probe")));
  std::ofstream out(a.need("probe-out"));
  if (!out) throw Error(a.str("probe-out") + ": cannot open for writing");
  std::vector<std::string> texts;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) texts.push_back(line);
  for (std::vector<float>& row : run.embed(texts)) {
    const int64_t n = loom::embed::finish(ec, row.data(), static_cast<int64_t>(row.size()));
    for (int64_t j = 0; j < n; ++j) out << (j ? " " : "") << row[static_cast<size_t>(j)];
    out << "\n";
  }
}

void print_result(const Args& a, const loom::train::ContrastiveRunResult& r, const char* pooling) {
  if (a.json()) {
    std::printf(
        "{\"steps\": %lld, \"pairs\": %lld, \"loss_first\": %.5f, \"loss\": %.5f, "
        "\"seconds\": %.1f, \"trainable\": %lld, \"pooling\": \"%s\", \"model\": %s}\n",
        static_cast<long long>(r.steps), static_cast<long long>(r.pairs), r.loss_first, r.loss,
        r.seconds, static_cast<long long>(r.trainable), pooling,
        loom::cli::json_quote(r.model_dir).c_str());
    return;
  }
  std::printf(
      "steps\t%lld\npairs\t%lld\nloss_first\t%.4f\nloss\t%.4f\ntrainable\t%lld\npooling\t%s "
      "(L2-normalised)\nseconds\t%.1f\nmodel\t%s\nlog\t%s\n",
      static_cast<long long>(r.steps), static_cast<long long>(r.pairs), r.loss_first, r.loss,
      static_cast<long long>(r.trainable), pooling, r.seconds, r.model_dir.c_str(), r.log.c_str());
}

int run_train_embed(const Args& a) {
  loom::train::ContrastiveRunOptions o = run_options(a);
  // The embedding config DIR records: the trained pooling, L2-normalised (the loss is cosine),
  // truncated as training did; written with every save.
  loom::embed::EmbedConfig ec;
  o.on_save = [&ec](const std::string& dir) { loom::embed::save_embedder_files(dir, ec); };
  loom::ThreadPool pool(a.threads());
  loom::train::ContrastiveRun run(
      o, pool, [](const std::string& note) { std::fprintf(stderr, "%s\n", note.c_str()); });
  const char* pooling = loom::pooling_name(run.config().pooling);
  ec.pooling = run.config().pooling;
  ec.normalize = true;
  ec.max_tokens = run.max_tokens();
  ec.dims = a.integer("embed-dims", 0);
  if (ec.dims < 0 || ec.dims > run.d_model())
    throw UsageError{"flag --embed-dims: expected 0.." + std::to_string(run.d_model())};
  std::fprintf(stderr,
               "train-embed: %lld pairs (%lld with a hard negative, %lld texts truncated to %lld "
               "tokens), %s pooling, temperature %g, batch %lld, %lld steps\n",
               static_cast<long long>(run.pairs()), static_cast<long long>(run.with_negative()),
               static_cast<long long>(run.truncated()), static_cast<long long>(run.max_tokens()),
               pooling, run.config().loss.temperature, static_cast<long long>(run.config().batch),
               static_cast<long long>(run.steps()));
  const loom::train::ContrastiveRunResult r =
      run.train([&](const loom::train::ContrastiveStepReport& s) {
        std::fprintf(stderr, "step %lld/%lld loss %.4f lr %.3g grad_norm %.3f\n",
                     static_cast<long long>(s.stats.step), static_cast<long long>(run.steps()),
                     s.stats.loss, s.stats.lr, s.stats.grad_norm);
      });
  if (a.has("probe")) write_probe(a, run, ec);
  print_result(a, r, pooling);
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "train-embed",
    "contrastive fine-tuning of a causal LM into a text embedder (InfoNCE, hard negatives, "
    "Matryoshka)",
    {
        {"init", "MODEL", "model to fine-tune: HF dir, GGUF or llama2.c .bin", ""},
        {"tokenizer", "FILE", "its tokenizer (default: the --init dir's tokenizer.json/.model)",
         ""},
        {"pairs", "FILE",
         "TSV query<TAB>positive[<TAB>negative], or JSONL {\"query\",\"positive\",\"negative\"}",
         ""},
        {"skip-bad", "", "skip malformed pair lines (listed on stderr) instead of stopping", ""},
        {"out", "DIR",
         "HF model dir + modules.json, 1_Pooling/config.json, checkpoint.loom, log.csv", ""},
        {"pooling", "KIND", "mean, last, cls or weighted-mean (as loom embed)", "mean"},
        {"temperature", "X", "InfoNCE temperature (similarity / X)", "0.05"},
        {"symmetric", "", "also the positive->query direction", ""},
        {"matryoshka", "D,D", "train these leading dims together (each re-normalised)", "width"},
        {"embed-dims", "N", "truncate_dim recorded for loom embed (0: all)", "0"},
        {"no-hard-negatives", "", "ignore the pairs' third column", ""},
        {"max-tokens", "N", "tokens per text, longer ones truncated", "min(128, context)"},
        {"train", "WHAT", "all or lora", "all"},
        {"lora-rank", "R", "LoRA rank", "8"},
        {"lora-alpha", "A", "LoRA alpha", "2*rank"},
        {"lora-targets", "LIST", "llama: q,k,v,o,gate,up,down; gpt2: qkv,o,fc,down", "q,v / qkv,o"},
        {"steps", "N", "optimiser steps", "200"},
        {"batch", "N", "pairs per step (in-batch negatives)", "32"},
        {"lr", "X", "peak learning rate", "1e-3"},
        {"min-lr", "X", "final learning rate", "lr/10"},
        {"warmup", "N", "linear warmup steps", "min(20, steps/10)"},
        {"decay", "KIND", "cosine, linear or constant", "cosine"},
        {"wd", "X", "AdamW weight decay (matrices only)", "0.01"},
        {"clip", "X", "global gradient-norm bound (0: off)", "1.0"},
        {"seed", "N", "batch-sampling (and LoRA init) seed", "1"},
        {"bf16", "", "bf16 matmuls with fp32 master weights", ""},
        {"save-every", "N", "steps between checkpoints", "100"},
        {"resume", "", "continue DIR/checkpoint.loom exactly (same flags)", ""},
        {"stop-at", "N", "stop (with a checkpoint) after step N, as if interrupted", ""},
        {"probe", "FILE", "after training, write the vectors of FILE's lines (training graph)", ""},
        {"probe-out", "FILE", "where --probe writes them (one line of numbers per text)", ""},
    },
    run_train_embed,
    "Texts are encoded with the tokenizer copied into DIR (tokenizer.json) exactly as\n"
    "`loom embed --model DIR` encodes them, truncated to --max-tokens; each step draws --batch\n"
    "distinct pairs from the seed, so the same seed, data and --threads give the same losses.\n"
    "Example (FOLDOC's train split as term -> definition pairs; every 10th line is held out):\n"
    "  awk -F'\\t' 'NR % 10 != 0 {print $1 \"\\t\" $2}' foldoc.tsv > pairs.tsv\n"
    "  loom train-embed --init stories260K.bin --tokenizer tok512.model --pairs pairs.tsv \\\n"
    "    --steps 300 --batch 32 --out emb/\n"
    "  loom eval retrieval --data foldoc.tsv --retriever dense --model emb/");
