// `loom seq2seq train|eval|translate`: the sequence-to-sequence model with Bahdanau attention on
// the dates task (many written forms of a date -> its ISO form). Parsing and printing only; the
// run, the decoding and the heatmap live in src/train (seq2seq_run, seq2seq_decode, heatmap).
#include <cmath>
#include <cstdio>
#include <string>

#include "cli.h"
#include "core/progress.h"
#include "core/threads.h"
#include "models/recurrent.h"
#include "train/seq2seq_run.h"
#include "train_flags.h"

namespace {

using loom::cli::Args;
using loom::cli::UsageError;
namespace tr = loom::train;

long long positive(const Args& a, const char* name, long long def) {
  const long long v = a.integer(name, def);
  if (v < 1) throw UsageError{std::string("flag --") + name + ": expected >= 1"};
  return v;
}

loom::generate::BeamSearchOptions beam_flags(const Args& a) {
  loom::generate::BeamSearchOptions o;
  o.num_beams = static_cast<int>(positive(a, "beam", 4));
  o.length_penalty = static_cast<float>(a.number("length-penalty", 1.0));
  return o;
}

tr::Seq2SeqRunOptions train_options(const Args& a) {
  tr::Seq2SeqRunOptions o;
  o.out = a.need("out");
  o.task.seed = static_cast<uint64_t>(a.integer("seed", 1));
  o.task.n_train = positive(a, "train-size", 20000);
  o.task.n_valid = positive(a, "valid-size", 500);
  o.task.n_test = positive(a, "test-size", 1000);
  o.model.kind = loom::models::cell_kind_from_name(a.str("cell", "gru"));
  o.model.emb_size = positive(a, "emb", 16);
  o.model.hidden_size = positive(a, "hidden", 64);
  o.model.encoder_layers = positive(a, "layers", 1);
  o.model.bidirectional = !a.flag("unidirectional");
  o.model.dropout = static_cast<float>(a.number("dropout", 0.1));
  o.batch = positive(a, "batch", 64);
  o.steps = positive(a, "steps", 1000);
  o.eval_every = a.integer("eval-every", 250);
  o.schedule = loom::cli::schedule_flags(a, 3e-3, 100);
  o.adamw.weight_decay = static_cast<float>(a.number("wd", 0.0));
  o.clip = static_cast<float>(a.number("clip", 1.0));
  o.beam = beam_flags(a);
  return o;
}

void print_accuracy(const Args& a, const tr::Seq2SeqAccuracy& t, int beams) {
  if (a.json()) {
    std::printf(
        "\"test_examples\": %lld, \"greedy_accuracy\": %.4f, \"beam_accuracy\": %.4f, "
        "\"beams\": %d",
        static_cast<long long>(t.examples), t.greedy(), t.beam(), beams);
    return;
  }
  std::printf(
      "test_examples\t%lld\ngreedy_exact_match\t%.4f (%lld)\nbeam%d_exact_match\t%.4f "
      "(%lld)\n",
      static_cast<long long>(t.examples), t.greedy(), static_cast<long long>(t.greedy_exact), beams,
      t.beam(), static_cast<long long>(t.beam_exact));
}

int run_train(const Args& a) {
  const tr::Seq2SeqRunOptions o = train_options(a);
  loom::ThreadPool pool(a.threads());
  loom::Progress bar("train", o.steps, "step", loom::stderr_is_tty());
  const tr::Seq2SeqRunResult r =
      tr::run_seq2seq_dates(o, pool, [&](const tr::StepStats& s, float val) {
        char extra[96];
        std::snprintf(extra, sizeof extra, "loss %.3f val %.3f", s.loss, val);
        bar.update(s.step, extra);
      });
  bar.finish();
  if (a.json()) {
    std::printf(
        "{\"steps\": %lld, \"params\": %lld, \"loss\": %.5f, \"val_loss_before\": %.5f, "
        "\"val_loss\": %.5f, \"seconds\": %.1f, \"out\": %s, ",
        static_cast<long long>(r.steps), static_cast<long long>(r.params), r.loss,
        r.val_loss_before, r.val_loss, r.seconds, loom::cli::json_quote(o.out).c_str());
    print_accuracy(a, r.test, o.beam.num_beams);
    std::printf("}\n");
    return 0;
  }
  std::printf(
      "steps\t%lld\nparams\t%lld\nvocab\t%lld -> %lld characters\nloss\t%.4f\n"
      "val_loss_before\t%.4f\nval_loss\t%.4f\nseconds\t%.1f\n",
      static_cast<long long>(r.steps), static_cast<long long>(r.params),
      static_cast<long long>(r.src_vocab), static_cast<long long>(r.tgt_vocab), r.loss,
      r.val_loss_before, r.val_loss, r.seconds);
  print_accuracy(a, r.test, o.beam.num_beams);
  std::printf("out\t%s (model.safetensors, log.csv, loss.png, attention.png)\n", o.out.c_str());
  return 0;
}

int run_eval(const Args& a) {
  const tr::Seq2SeqBundle b = tr::load_seq2seq_dir(a.need("model"));
  loom::ThreadPool pool(a.threads());
  const tr::DateSplits d =
      tr::make_date_splits(b.task.seed, b.task.n_train, b.task.n_valid, b.task.n_test);
  const loom::generate::BeamSearchOptions o = beam_flags(a);
  const tr::Seq2SeqAccuracy acc = b.accuracy(pool, d.test, o);
  if (a.json()) std::printf("{");
  print_accuracy(a, acc, o.num_beams);
  if (a.json()) std::printf("}\n");
  return 0;
}

int run_translate(const Args& a) {
  const tr::Seq2SeqBundle b = tr::load_seq2seq_dir(a.need("model"));
  if (a.positional().empty()) throw UsageError{"give the text(s) to translate"};
  if (a.has("heatmap") && a.positional().size() != 1)
    throw UsageError{"--heatmap draws one text's attention: give one text"};
  loom::ThreadPool pool(a.threads());
  const loom::generate::BeamSearchOptions o = beam_flags(a);
  for (const std::string& text : a.positional()) {
    const loom::models::Seq2SeqOutput out = b.translate(pool, text, o);
    const std::string result = b.tgt.decode(out.tokens);
    if (a.json())
      std::printf("{\"text\": %s, \"output\": %s, \"finished\": %s, \"score\": %.6f}\n",
                  loom::cli::json_quote(text).c_str(), loom::cli::json_quote(result).c_str(),
                  out.finished ? "true" : "false", out.score);
    else
      std::printf("%s\t%s%s\n", text.c_str(), result.c_str(), out.finished ? "" : " (no EOS)");
    if (a.has("heatmap")) tr::write_attention_png(b, text, out, a.str("heatmap"));
  }
  return 0;
}

const loom::cli::Flag kBeamFlags[] = {
    {"beam", "N", "beam width (1: greedy only)", "4"},
    {"length-penalty", "X", "beam score = sum of log-probs / length^X (EOS counted)", "1.0"}};

}  // namespace

LOOM_COMMAND("seq2seq train",
             "train a seq2seq model with Bahdanau attention on the dates task (written dates -> "
             "ISO)",
             {{"out", "DIR", "run folder", ""},
              {"seed", "N", "the splits, the initial weights and dropout", "1"},
              {"train-size", "N", "training examples (distinct days of 1950..2049)", "20000"},
              {"valid-size", "N", "validation examples", "500"},
              {"test-size", "N", "test examples (exact match is reported)", "1000"},
              {"cell", "KIND", "gru, rnn_tanh or rnn_relu", "gru"},
              {"emb", "N", "character embedding size", "16"},
              {"hidden", "N", "recurrent state size", "64"},
              {"layers", "N", "encoder layers", "1"},
              {"unidirectional", "", "a forward-only encoder (default: bidirectional)", ""},
              {"dropout", "X", "on the embeddings while training", "0.1"},
              {"batch", "N", "examples per step", "64"},
              {"steps", "N", "optimiser steps", "1000"},
              {"eval-every", "N", "steps between validation losses (0: at the end)", "250"},
              {"lr", "X", "peak learning rate", "3e-3"},
              {"min-lr", "X", "final learning rate", "lr/10"},
              {"warmup", "N", "linear warmup steps", "100"},
              {"decay", "KIND", "cosine, linear or constant", "cosine"},
              {"wd", "X", "AdamW weight decay", "0"},
              {"clip", "X", "global gradient-norm bound (0: off)", "1.0"},
              kBeamFlags[0],
              kBeamFlags[1]},
             run_train,
             "Writes DIR/model.safetensors, config.json, src_vocab.txt, tgt_vocab.txt, log.csv, "
             "loss.png\nand attention.png (the first test example's attention: rows = output "
             "characters,\ncolumns = input characters). Same seed and --threads: same run.");

LOOM_COMMAND("seq2seq eval",
             "exact-match accuracy of a seq2seq run's model on its test split (greedy and beam)",
             {{"model", "DIR", "a `loom seq2seq train` run folder", ""},
              kBeamFlags[0],
              kBeamFlags[1]},
             run_eval, "");

LOOM_COMMAND("seq2seq translate", "decode texts with a seq2seq run's model",
             {{"model", "DIR", "a `loom seq2seq train` run folder", ""},
              kBeamFlags[0],
              kBeamFlags[1],
              {"heatmap", "PNG", "draw the attention weights of the (one) text here", ""}},
             run_translate,
             "Texts are positional arguments: loom seq2seq translate --model DIR "
             "\"3 March 2021\"");
