// BEIR JSONL, qrels and TREC run parsing: any bytes parse or throw loom::Error, never crash.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "retrieval/beir.h"
#include "retrieval/metrics.h"
#include "retrieval/run.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> issues;
  loom::retrieval::LoadOptions skip{true, &issues};
  try {
    loom::retrieval::parse_jsonl_documents(text, "fuzz.jsonl", size % 2 == 0, skip);
  } catch (const loom::Error&) {
  }
  try {
    loom::retrieval::parse_jsonl_documents(text, "fuzz.jsonl", false, {});
  } catch (const loom::Error&) {
  }
  loom::retrieval::Qrels qrels;
  try {
    qrels = loom::retrieval::parse_qrels(text, "fuzz.qrels");
  } catch (const loom::Error&) {
  }
  try {
    auto run = loom::retrieval::parse_run(text, "fuzz.run");
    loom::retrieval::evaluate(qrels, run, {1, 10});
  } catch (const loom::Error&) {
  }
  return 0;
}
