// Texts to embed, read from a plain text file (one item per non-empty line) or JSONL (one object
// per line; the text from one or more string fields, the id from another).
#pragma once

#include <string>
#include <vector>

namespace loom::embed {

struct TextItems {
  std::vector<std::string> ids;    // text files: the 1-based line number; JSONL: the id field
  std::vector<std::string> texts;  // same order as ids
};

struct JsonlOptions {
  // Fields joined with one space (empty or missing ones left out): {"title", "text"} embeds a
  // BEIR document as "title text". At least one field.
  std::vector<std::string> fields = {"text"};
  std::string id_field = "_id";  // "" = use the 1-based line number
  bool skip_malformed = false;   // false: a malformed line is a loom::Error naming name:line
  std::vector<std::string>* issues = nullptr;  // receives "name:line: what" for skipped lines
};

// One item per non-empty line (a trailing '\r' is dropped); ids are line numbers.
TextItems parse_text_lines(const std::string& text);
// A line that is not a JSON object, lacks the id, has a non-string text field, or repeats an id is
// malformed. Blank lines are skipped silently.
TextItems parse_jsonl_items(const std::string& text, const std::string& name,
                            const JsonlOptions& options);

// Reads `path`: JSONL when jsonl is true, else text lines.
TextItems read_items(const std::string& path, bool jsonl, const JsonlOptions& options);

}  // namespace loom::embed
