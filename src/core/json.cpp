#include "core/json.h"

#include <algorithm>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace writ {
namespace json = boost::json;

namespace {
// A SAX handler that only looks for objects naming one member twice, which
// Boost.JSON's DOM parser would silently collapse (last one wins): a body
// that means different things to different parsers is refused instead.
struct DuplicateKeyCheck {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using ec_t = boost::system::error_code;

  std::vector<std::vector<std::string>> keys;  // member names per open object
  std::string partial;
  std::string duplicate;

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t&) {
    keys.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, ec_t&) {
    keys.pop_back();
    return true;
  }
  bool on_array_begin(ec_t&) { return true; }
  bool on_array_end(std::size_t, ec_t&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, ec_t&) {
    partial.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, ec_t& ec) {
    partial.append(s.data(), s.size());
    auto& level = keys.back();
    for (const auto& k : level) {
      if (k == partial) {
        duplicate = partial;
        ec = make_error_code(boost::system::errc::invalid_argument);
        return false;
      }
    }
    level.push_back(std::move(partial));
    partial.clear();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, ec_t&) { return true; }
  bool on_string(json::string_view, std::size_t, ec_t&) { return true; }
  bool on_number_part(json::string_view, ec_t&) { return true; }
  bool on_int64(std::int64_t, json::string_view, ec_t&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, ec_t&) { return true; }
  bool on_double(double, json::string_view, ec_t&) { return true; }
  bool on_bool(bool, ec_t&) { return true; }
  bool on_null(ec_t&) { return true; }
  bool on_comment_part(json::string_view, ec_t&) { return true; }
  bool on_comment(json::string_view, ec_t&) { return true; }
};
}  // namespace

Result<json::value> ParseJsonStrict(std::string_view text) {
  json::parse_options opt;
  opt.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec) return Status(Code::kInvalidArgument, "invalid JSON: " + ec.message());
  // Only bodies with objects can hold duplicate names; check those.
  if (text.find('{') != std::string_view::npos) {
    json::basic_parser<DuplicateKeyCheck> check(opt);
    check.write_some(false, text.data(), text.size(), ec);
    if (!check.handler().duplicate.empty())
      return Status(Code::kInvalidArgument, "invalid JSON: an object names member '" + check.handler().duplicate +
                                                "' more than once");
  }
  return v;
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
