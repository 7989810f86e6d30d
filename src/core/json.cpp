#include "core/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace writ {
namespace json = boost::json;

namespace {
// A SAX handler building the document in one pass, refusing what a DOM
// parser would silently accept: an object naming one member twice (Boost's
// DOM keeps the last one) — a body that means different things to different
// parsers. Numbers that are not integers are converted from their text with
// std::from_chars (correctly rounded): Boost 1.81's own conversion can be one
// unit in the last place off, so the same number written two ways could get
// two fingerprints and canonical text would not parse back to itself.
struct StrictBuilder {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using ec_t = boost::system::error_code;

  struct Frame {
    bool is_object = false;
    json::object object;
    json::array array;
    std::string key;  // objects: the member being read
  };
  std::vector<Frame> stack;
  json::value root;
  std::string key_part, string_part, number_part;
  std::string duplicate;
  bool too_large = false;

  void Put(json::value v) {
    if (stack.empty()) {
      root = std::move(v);
    } else if (stack.back().is_object) {
      stack.back().object.emplace(stack.back().key, std::move(v));
    } else {
      stack.back().array.push_back(std::move(v));
    }
  }

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t&) {
    stack.emplace_back().is_object = true;
    return true;
  }
  bool on_object_end(std::size_t, ec_t&) {
    json::object o = std::move(stack.back().object);
    stack.pop_back();
    Put(std::move(o));
    return true;
  }
  bool on_array_begin(ec_t&) {
    stack.emplace_back();
    return true;
  }
  bool on_array_end(std::size_t, ec_t&) {
    json::array a = std::move(stack.back().array);
    stack.pop_back();
    Put(std::move(a));
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, ec_t&) {
    key_part.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, ec_t& ec) {
    key_part.append(s.data(), s.size());
    if (stack.back().object.contains(key_part)) {
      duplicate = key_part;
      ec = make_error_code(boost::system::errc::invalid_argument);
      return false;
    }
    stack.back().key = std::move(key_part);
    key_part.clear();
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, ec_t&) {
    string_part.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, ec_t&) {
    string_part.append(s.data(), s.size());
    Put(json::string(string_part));
    string_part.clear();
    return true;
  }
  bool on_number_part(json::string_view s, ec_t&) {
    number_part.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t v, json::string_view, ec_t&) {
    number_part.clear();
    Put(v);
    return true;
  }
  bool on_uint64(std::uint64_t v, json::string_view, ec_t&) {
    number_part.clear();
    Put(v);
    return true;
  }
  bool on_double(double d, json::string_view s, ec_t& ec) {
    number_part.append(s.data(), s.size());
    double precise = d;
    auto [end, err] = std::from_chars(number_part.data(), number_part.data() + number_part.size(), precise);
    if (err == std::errc::result_out_of_range) precise = std::strtod(number_part.c_str(), nullptr);  // underflow: 0 or subnormal
    else if (err != std::errc() || end != number_part.data() + number_part.size()) precise = d;
    number_part.clear();
    if (std::isinf(precise)) {  // no double holds it: refused rather than stored as infinity
      too_large = true;
      ec = make_error_code(boost::system::errc::result_out_of_range);
      return false;
    }
    Put(precise);
    return true;
  }
  bool on_bool(bool b, ec_t&) {
    Put(b);
    return true;
  }
  bool on_null(ec_t&) {
    Put(nullptr);
    return true;
  }
  bool on_comment_part(json::string_view, ec_t&) { return true; }
  bool on_comment(json::string_view, ec_t&) { return true; }
};
}  // namespace

Result<json::value> ParseJsonStrict(std::string_view text) {
  json::parse_options opt;
  opt.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::basic_parser<StrictBuilder> parser(opt);
  size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = json::error::extra_data;
  if (!parser.handler().duplicate.empty())
    return Status(Code::kInvalidArgument,
                  "invalid JSON: an object names member '" + parser.handler().duplicate + "' more than once");
  if (parser.handler().too_large)
    return Status(Code::kInvalidArgument, "invalid JSON: a number is too large for a double");
  if (ec) return Status(Code::kInvalidArgument, "invalid JSON: " + ec.message());
  return std::move(parser.handler().root);
}

namespace {
void Canon(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      std::vector<const json::key_value_pair*> members;
      members.reserve(o.size());
      for (const auto& kv : o) members.push_back(&kv);
      std::sort(members.begin(), members.end(),
                [](auto* a, auto* b) { return a->key() < b->key(); });
      out += '{';
      for (size_t i = 0; i < members.size(); ++i) {
        if (i) out += ',';
        out += json::serialize(json::string_view(members[i]->key()));
        out += ':';
        Canon(members[i]->value(), out);
      }
      out += '}';
      break;
    }
    case json::kind::array: {
      out += '[';
      const auto& a = v.get_array();
      for (size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        Canon(a[i], out);
      }
      out += ']';
      break;
    }
    default:
      out += json::serialize(v);
  }
}

void Flatten(const json::value& v, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  if (v.is_object() && !v.get_object().empty()) {
    for (const auto& kv : v.get_object())
      Flatten(kv.value(), prefix + "/" + EscapePointerToken(kv.key()), out);
  } else if (v.is_array() && !v.get_array().empty()) {
    const auto& a = v.get_array();
    for (size_t i = 0; i < a.size(); ++i) Flatten(a[i], prefix + "/" + std::to_string(i), out);
  } else {
    out[prefix] = CanonicalJson(v);
  }
}
}  // namespace

std::string CanonicalJson(const json::value& v) {
  std::string out;
  Canon(v, out);
  return out;
}

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

bool ErasePointer(json::value& root, std::string_view pointer) {
  if (pointer.empty() || pointer.front() != '/') return false;
  auto slash = pointer.rfind('/');
  std::string parent_ptr(pointer.substr(0, slash));
  std::string token;
  for (size_t i = slash + 1; i < pointer.size(); ++i) {
    if (pointer[i] == '~' && i + 1 < pointer.size()) {
      token += pointer[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      token += pointer[i];
    }
  }
  boost::system::error_code ec;
  json::value* parent = parent_ptr.empty() ? &root : root.find_pointer(parent_ptr, ec);
  if (!parent || ec) return false;
  if (parent->is_object()) return parent->get_object().erase(token) > 0;
  return false;  // array elements are never ignored: positions matter
}

std::map<std::string, std::string> FlattenJson(const json::value& v) {
  std::map<std::string, std::string> out;
  Flatten(v, "", out);
  return out;
}

}  // namespace writ
