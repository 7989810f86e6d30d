#include "patterns/saga/saga_template.h"

#include <functional>

#include <boost/json.hpp>

#include "core/http_types.h"

namespace writ {

namespace json = boost::json;

namespace {

// The text a value stands for: strings as they are, numbers, booleans and
// null as JSON, objects and arrays as compact JSON.
std::string ValueText(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

Status Invalid(const std::string& what) { return Status(Code::kInvalidArgument, what); }

}  // namespace

Result<const json::value*> SagaLookup(const json::value& context, const std::string& pointer) {
  boost::system::error_code ec;
  const json::value* v = context.find_pointer(pointer, ec);
  if (!v) return Invalid("'" + pointer + "' names nothing (in the saga's input or an earlier step's answer)");
  return v;
}

Result<SagaTemplate> SagaTemplate::Parse(std::string_view text) {
  SagaTemplate t;
  t.text_ = std::string(text);
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "{{") == 0) {
      size_t end = text.find("}}", i + 2);
      if (end == std::string_view::npos) return Invalid("an unclosed '{{' in '" + t.text_ + "'");
      std::string pointer(text.substr(i + 2, end - i - 2));
      if (pointer.empty() || pointer[0] != '/' || pointer.find("{{") != std::string::npos)
        return Invalid("'{{" + pointer + "}}' in '" + t.text_ +
                       "' is no JSON Pointer: write {{/input/field}} or {{/steps/NAME/body/field}}");
      // A pointer's escapes are ~0 and ~1 only.
      for (size_t k = 0; k < pointer.size(); ++k)
        if (pointer[k] == '~' && (k + 1 == pointer.size() || (pointer[k + 1] != '0' && pointer[k + 1] != '1')))
          return Invalid("'{{" + pointer + "}}' in '" + t.text_ + "': '~' in a JSON Pointer is ~0 or ~1");
      if (!literal.empty()) t.parts_.push_back({false, std::move(literal)});
      literal.clear();
      t.parts_.push_back({true, std::move(pointer)});
      i = end + 2;
    } else {
      literal += text[i++];
    }
  }
  if (!literal.empty()) t.parts_.push_back({false, std::move(literal)});
  return t;
}

std::vector<std::string> SagaTemplate::pointers() const {
  std::vector<std::string> out;
  for (const auto& p : parts_)
    if (p.pointer) out.push_back(p.text);
  return out;
}

Result<std::string> SagaTemplate::Expand(const json::value& context, const Piece& piece) const {
  std::string out;
  for (const auto& p : parts_) {
    if (!p.pointer) {
      out += p.text;
      continue;
    }
    auto v = SagaLookup(context, p.text);
    if (!v.ok()) return v.status();
    auto text = piece(p.text, **v);
    if (!text.ok()) return text.status();
    out += *text;
  }
  return out;
}

Result<std::string> SagaTemplate::ExpandPath(const json::value& context) const {
  return Expand(context, [](const std::string& pointer, const json::value& x) -> Result<std::string> {
    if (!x.is_string() && !x.is_number())
      return Invalid("'" + pointer + "' is " +
                     (x.is_object()  ? "an object"
                      : x.is_array() ? "an array"
                                     : "not text") +
                     ": a path takes a string or a number");
    std::string text = ValueText(x);
    if (text.empty() || text == "." || text == "..")
      return Invalid("'" + pointer + "' is \"" + text + "\": a path segment cannot be empty, '.' or '..'");
    return PercentEncode(text);
  });
}

Result<std::string> SagaTemplate::ExpandText(const json::value& context) const {
  return Expand(context, [](const std::string&, const json::value& x) -> Result<std::string> { return ValueText(x); });
}

Result<SagaBodyTemplate> SagaBodyTemplate::Parse(const json::value& body) {
  Status bad = Status::Ok();
  std::function<void(const json::value&)> check = [&](const json::value& v) {
    if (!bad.ok()) return;
    if (v.is_string()) {
      auto t = SagaTemplate::Parse(v.get_string());
      if (!t.ok()) bad = t.status();
    } else if (v.is_object()) {
      for (const auto& kv : v.get_object()) check(kv.value());
    } else if (v.is_array()) {
      for (const auto& x : v.get_array()) check(x);
    }
  };
  check(body);
  if (!bad.ok()) return bad;
  SagaBodyTemplate t;
  t.body_ = body;
  return t;
}

std::vector<std::string> SagaBodyTemplate::pointers() const {
  std::vector<std::string> out;
  std::function<void(const json::value&)> walk = [&](const json::value& v) {
    if (v.is_string()) {
      auto t = SagaTemplate::Parse(v.get_string());
      if (t.ok())
        for (auto& p : t->pointers()) out.push_back(std::move(p));
    } else if (v.is_object()) {
      for (const auto& kv : v.get_object()) walk(kv.value());
    } else if (v.is_array()) {
      for (const auto& x : v.get_array()) walk(x);
    }
  };
  walk(body_);
  return out;
}

Result<json::value> SagaBodyTemplate::Expand(const json::value& context) const {
  // Object keys are taken as they are: placeholders fill values only.
  std::function<Result<json::value>(const json::value&)> expand = [&](const json::value& v) -> Result<json::value> {
    if (v.is_string()) {
      auto t = SagaTemplate::Parse(v.get_string());
      if (!t.ok()) return t.status();
      if (t->whole()) {
        auto x = SagaLookup(context, t->pointers()[0]);
        if (!x.ok()) return x.status();
        return **x;
      }
      auto text = t->ExpandText(context);
      if (!text.ok()) return text.status();
      return json::value(json::string(*text));
    }
    if (v.is_object()) {
      json::object out;
      for (const auto& kv : v.get_object()) {
        auto x = expand(kv.value());
        if (!x.ok()) return x.status();
        out[kv.key()] = std::move(*x);
      }
      return json::value(std::move(out));
    }
    if (v.is_array()) {
      json::array out;
      for (const auto& e : v.get_array()) {
        auto x = expand(e);
        if (!x.ok()) return x.status();
        out.push_back(std::move(*x));
      }
      return json::value(std::move(out));
    }
    return v;
  };
  return expand(body_);
}

}  // namespace writ
