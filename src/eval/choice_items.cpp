#include "eval/choice_items.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/json_util.h"

namespace loom::eval {

namespace {

using nlohmann::json;

ChoiceItem item_of(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected a JSON object, got " + j.type_name());
  ChoiceItem item;
  if (!j.contains("context") || !j["context"].is_string())
    throw Error(where + ": missing \"context\" (a string)");
  item.context = j["context"].get<std::string>();
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].size() < 2)
    throw Error(where + ": missing \"choices\" (an array of at least 2 strings)");
  for (const json& c : j["choices"]) {
    if (!c.is_string() || c.get<std::string>().empty())
      throw Error(where + ": every choice must be a non-empty string");
    item.choices.push_back(c.get<std::string>());
  }
  if (!j.contains("gold") || !j["gold"].is_number_integer())
    throw Error(where + ": missing \"gold\" (the index of the right choice)");
  item.gold = j["gold"].get<int64_t>();
  if (item.gold < 0 || item.gold >= static_cast<int64_t>(item.choices.size()))
    throw Error(where + ": \"gold\" " + std::to_string(item.gold) + " is not an index of the " +
                std::to_string(item.choices.size()) + " choices");
  return item;
}

}  // namespace

std::vector<ChoiceItem> parse_choice_items_jsonl(std::string_view text, const std::string& name) {
  std::vector<ChoiceItem> out;
  text::for_each_jsonl(text, name, "item",
                       [&](const json& j, const std::string& where) { out.push_back(item_of(j, where)); });
  if (out.empty()) throw Error(name + ": no multiple-choice items");
  return out;
}

}  // namespace loom::eval
