// `loom eval choice`: multiple-choice accuracy (acc, acc_norm) of a causal LM, with
// lm-evaluation-harness's conventions, on a JSONL task file or a glossary's definition task.
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "adapter_flags.h"
#include "cli.h"
#include "core/mapped_file.h"
#include "core/progress.h"
#include "eval/choice_items.h"
#include "eval/multiple_choice.h"
#include "generate/codec.h"
#include "rag/doc_retriever.h"
#include "retrieval/bm25.h"
#include "retrieval/definitions.h"

namespace {

using loom::cli::Args;
using loom::cli::UsageError;

std::vector<loom::eval::ChoiceItem> load_items(const Args& a) {
  if (a.has("items") == a.has("definitions"))
    throw UsageError{"give one of --items FILE.jsonl and --definitions FILE.tsv"};
  if (a.has("items")) {
    const std::string path = a.str("items");
    return loom::eval::parse_choice_items_jsonl(loom::read_file(path), path);
  }
  const int64_t choices = a.integer("choices", 4), every = a.integer("holdout-every", 1);
  const int64_t limit = a.integer("limit", 0), max_bytes = a.integer("max-bytes", 160);
  if (choices < 2 || choices > 64) throw UsageError{"--choices must be in [2, 64]"};
  if (limit < 0 || max_bytes < 1) throw UsageError{"--limit must be >= 0 and --max-bytes >= 1"};
  const auto ds = loom::retrieval::load_definitions_task(a.str("definitions"), every);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i < ds.queries.size(); ++i)
    pairs.emplace_back(ds.queries[i].text, ds.corpus[i].text);
  return loom::eval::definition_task(pairs, static_cast<int>(choices),
                                     static_cast<uint64_t>(a.integer("seed", 1)), limit, max_bytes);
}

// In-context retrieval (Ram et al. 2023) for multiple choice: the top BM25 document for the
// item's context, queried with the context's text, goes before the context on a line of its own.
void prepend_retrieved(std::vector<loom::eval::ChoiceItem>& items, const std::string& path) {
  const std::vector<std::string> texts = loom::rag::load_documents(path);
  const loom::retrieval::Bm25Index index(loom::rag::numbered_documents(texts));
  for (auto& item : items) {
    const auto hits = index.search(item.context, 1);
    if (!hits.empty()) item.context = texts[std::stoul(hits[0].docid)] + "\n" + item.context;
  }
}

// lm-evaluation-harness's --log_samples: one JSON object per item.
void log_samples(const std::string& path, const loom::eval::ChoiceResult& r,
                 const std::vector<loom::eval::ChoiceItem>& items) {
  std::ofstream out(path);
  if (!out) throw loom::Error(path + ": cannot write the samples file");
  for (size_t i = 0; i < items.size(); ++i) {
    out << "{\"item\": " << i + 1 << ", \"context\": " << loom::cli::json_quote(items[i].context)
        << ", \"gold\": " << items[i].gold << ", \"pred\": " << r.predicted[i]
        << ", \"pred_norm\": " << r.predicted_norm[i] << ", \"logliks\": [";
    char buf[32];
    for (size_t k = 0; k < r.logliks[i].size(); ++k) {
      std::snprintf(buf, sizeof buf, "%.6f", r.logliks[i][k]);
      out << (k ? ", " : "") << buf;
    }
    out << "]}\n";
  }
  if (!out.flush()) throw loom::Error(path + ": write failed");
}

void print_result(const Args& a, const loom::eval::ChoiceResult& r, int64_t choices) {
  if (a.json()) {
    std::printf(
        "{\"items\": %lld, \"choices\": %lld, \"acc\": %.6f, \"acc_stderr\": %.6f, "
        "\"acc_norm\": %.6f, \"acc_norm_stderr\": %.6f}\n",
        static_cast<long long>(r.items), static_cast<long long>(choices), r.acc, r.acc_stderr,
        r.acc_norm, r.acc_norm_stderr);
  } else {
    std::printf("items\t%lld\nacc\t%.4f\t± %.4f\nacc_norm\t%.4f\t± %.4f\n",
                static_cast<long long>(r.items), r.acc, r.acc_stderr, r.acc_norm,
                r.acc_norm_stderr);
  }
}

int run_eval_choice(const Args& a) {
  std::vector<loom::eval::ChoiceItem> items = load_items(a);
  if (a.has("retrieve-from")) prepend_retrieved(items, a.str("retrieve-from"));
  loom::ThreadPool pool(a.threads());
  auto loaded = loom::cli::load_model_flags(a);
  auto codec = loom::generate::load_codec(*loaded.model, loaded.tokenizer);
  const loom::eval::Encode encode = [&](const std::string& s) { return codec->encode(s, true); };
  std::vector<loom::eval::TokenizedChoices> tokenized;
  for (size_t i = 0; i < items.size(); ++i) {
    try {
      tokenized.push_back(loom::eval::tokenize_choices(items[i], encode));
    } catch (const loom::Error& e) {
      throw loom::Error("item " + std::to_string(i + 1) + ": " + e.what());
    }
  }
  loom::Progress progress("choices", static_cast<int64_t>(items.size()), "item",
                          loom::stderr_is_tty());
  const auto r = loom::eval::score_choices(*loaded.model, pool, tokenized,
                                           [&](int64_t done, int64_t) { progress.update(done); });
  progress.finish();
  if (a.has("log-samples")) log_samples(a.str("log-samples"), r, items);
  print_result(a, r, static_cast<int64_t>(items.front().choices.size()));
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "eval choice", "multiple-choice accuracy (acc, acc_norm) with lm-evaluation-harness's rules",
    {
        {"model", "FILE", "model file or Hugging Face directory", ""},
        {"tokenizer", "FILE", "tokenizer (default: the model's own)", ""},
        loom::cli::adapter_flag(),
        {"items", "FILE", "JSONL: {\"context\": s, \"choices\": [s, ...], \"gold\": i} per line", ""},
        {"definitions", "FILE", "glossary TSV (term<TAB>definition): which definition is the term's",
         ""},
        {"holdout-every", "N", "with --definitions: only lines whose number N divides", "1"},
        {"choices", "K", "with --definitions: choices per item (distractors drawn by --seed)", "4"},
        {"seed", "S", "with --definitions: the distractors' and gold positions' seed", "1"},
        {"limit", "N", "with --definitions: the first N entries (0 = all)", "0"},
        {"max-bytes", "B", "with --definitions: a definition's first sentence, cut to B bytes", "160"},
        {"log-samples", "FILE", "JSONL per item: context, gold, predictions, log-likelihoods", ""},
        {"retrieve-from", "FILE",
         "in-context RALM: documents (.jsonl or one per line); the top BM25 one for the context "
         "goes before it",
         ""},
    },
    run_eval_choice,
    "Each choice scores sum log p(choice | context); acc takes the argmax, acc_norm the argmax\n"
    "after dividing by the choice's UTF-8 bytes; the stderr is sqrt(p(1-p)/(n-1)). With\n"
    "--definitions the context is \"term<TAB>\", a glossary line's own layout. A context longer\n"
    "than the model's window loses its oldest tokens. Example:\n"
    "  loom eval choice --model adapted/ --definitions foldoc.tsv --holdout-every 10 --limit 300");
