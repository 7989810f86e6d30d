// Fuzz target: the saga's step templates. The input is a template (its first
// line) and the saga's input (the rest, as JSON). Whatever the values hold:
//   * a path keeps exactly the template's own '/', '?' and '#';
//   * a body keeps the template's shape (the same keys, the same array
//     lengths; only a string that is one whole placeholder takes another
//     shape), and its text parses back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/json.hpp>

#include "core/json.h"
#include "patterns/saga/saga_template.h"

namespace {

namespace json = boost::json;

size_t Count(const std::string& s, const char* of) {
  size_t n = 0;
  for (char c : s) n += std::string(of).find(c) != std::string::npos;
  return n;
}

bool SameShape(const json::value& tmpl, const json::value& out) {
  if (tmpl.is_string()) {
    auto t = writ::SagaTemplate::Parse(tmpl.get_string());
    return (t.ok() && t->whole()) || out.is_string();
  }
  if (tmpl.is_object()) {
    if (!out.is_object() || out.get_object().size() != tmpl.get_object().size()) return false;
    for (const auto& kv : tmpl.get_object()) {
      const auto* o = out.get_object().if_contains(kv.key());
      if (!o || !SameShape(kv.value(), *o)) return false;
    }
    return true;
  }
  if (tmpl.is_array()) {
    if (!out.is_array() || out.get_array().size() != tmpl.get_array().size()) return false;
    for (size_t i = 0; i < tmpl.get_array().size(); ++i)
      if (!SameShape(tmpl.get_array()[i], out.get_array()[i])) return false;
    return true;
  }
  return tmpl == out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string text = in.substr(0, nl);
  auto input = writ::ParseJsonStrict(nl == std::string::npos ? "null" : in.substr(nl + 1));
  // As in a saga: the input and the answers are parsed JSON.
  json::value value = input.ok() ? *input : json::value(nullptr);
  json::value context =
      json::object{{"input", value}, {"steps", json::object{{"a", json::object{{"status", 200}, {"body", value}}}}}};
  auto t = writ::SagaTemplate::Parse(text);
  if (t.ok()) {
    auto path = t->ExpandPath(context);
    if (path.ok()) {
      // The literal text alone: the template with its placeholders removed.
      std::string stripped;
      for (size_t i = 0; i < text.size();) {
        if (text.compare(i, 2, "{{") == 0) {
          i = text.find("}}", i + 2) + 2;
        } else {
          stripped += text[i++];
        }
      }
      if (Count(*path, "/?#") != Count(stripped, "/?#")) std::abort();
    }
    (void)t->ExpandText(context);
  }
  auto body = writ::ParseJsonStrict(text);
  if (body.ok()) {
    auto bt = writ::SagaBodyTemplate::Parse(*body);
    if (bt.ok()) {
      auto out = bt->Expand(context);
      if (out.ok()) {
        if (!SameShape(*body, *out)) std::abort();
        auto again = writ::ParseJsonStrict(json::serialize(*out));
        if (!again.ok() || *again != *out) std::abort();
      }
    }
  }
  return 0;
}
