#include "patterns/validate/schema.h"

#include <fstream>
#include <set>
#include <sstream>

#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <boost/json/serialize.hpp>

#include "core/json.h"

namespace writ {
namespace {

// valijson names a location as ["<root>", "[items]", "[0]", "[sku]"].
std::string PointerOf(const std::vector<std::string>& context) {
  std::string out;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    std::string token = part;
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') token = token.substr(1, token.size() - 2);
    out += "/" + EscapePointerToken(token);
  }
  return out;
}

class ValijsonSchema : public JsonSchema {
 public:
  std::vector<SchemaViolation> Validate(const boost::json::value& doc) const override {
    valijson::Validator validator;  // stateless between calls; cheap to make
    valijson::ValidationResults results;
    valijson::adapters::BoostJsonAdapter adapter(doc);
    std::vector<SchemaViolation> out;
    if (validator.validate(schema_, adapter, &results)) return out;
    // valijson reports the failing leaf and every enclosing combinator; keep
    // one reason per (pointer, reason) pair, in document order.
    std::set<std::pair<std::string, std::string>> seen;
    valijson::ValidationResults::Error e;
    while (results.popError(e)) {
      // Wrappers that only say "a child failed" add nothing to the child's own error.
      if (e.description.rfind("Failed to validate against schema associated with", 0) == 0 ||
          e.description.rfind("Failed to validate item #", 0) == 0)
        continue;
      SchemaViolation v{PointerOf(e.context), e.description};
      if (seen.insert({v.pointer, v.reason}).second) out.push_back(std::move(v));
    }
    return out;
  }

  valijson::Schema schema_;
};

}  // namespace

Result<std::shared_ptr<const JsonSchema>> CompileJsonSchema(const std::string& text, const std::string& name) {
  auto doc = ParseJsonStrict(text);
  if (!doc.ok()) return Status(Code::kInvalidArgument, name + ": not valid JSON: " + doc.status().message());
  if (!doc->is_object()) return Status(Code::kInvalidArgument, name + ": a JSON Schema must be an object");
  auto schema = std::make_shared<ValijsonSchema>();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::BoostJsonAdapter adapter(*doc);
    parser.populateSchema(adapter, schema->schema_);
  } catch (const std::exception& e) {
    return Status(Code::kInvalidArgument, name + ": invalid JSON Schema: " + e.what());
  }
  return std::shared_ptr<const JsonSchema>(std::move(schema));
}

Result<std::shared_ptr<const JsonSchema>> LoadJsonSchema(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(Code::kInvalidArgument, "cannot read schema file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return CompileJsonSchema(ss.str(), path);
}

namespace {
// Drops `required` (an array of member names) from every schema object;
// values that are data, not schemas (enum, const, default, examples), are
// left as they are.
void DropRequired(boost::json::value& v) {
  if (auto* o = v.if_object()) {
    if (auto it = o->find("required"); it != o->end() && it->value().is_array()) o->erase(it);
    for (auto& [k, child] : *o)
      if (k != "enum" && k != "const" && k != "default" && k != "examples") DropRequired(child);
  } else if (auto* a = v.if_array()) {
    for (auto& child : *a) DropRequired(child);
  }
}
}  // namespace

Result<std::shared_ptr<const JsonSchema>> LoadLooseJsonSchema(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(Code::kInvalidArgument, "cannot read schema file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = ParseJsonStrict(ss.str());
  if (!doc.ok()) return Status(Code::kInvalidArgument, path + ": not valid JSON: " + doc.status().message());
  DropRequired(*doc);
  return CompileJsonSchema(boost::json::serialize(*doc), path + " (loose)");
}

}  // namespace writ

#include "config/reader.h"

namespace writ {

void ReadSchemaKey(ModeContext& ctx, std::string& path, std::shared_ptr<const JsonSchema>& schema) {
  auto n = ctx.node["validate"];
  if (!n) return;
  size_t errors_before = ctx.reader.error_count();
  ctx.reader.SchemaFile(ctx.node, "validate", path);
  if (ctx.reader.error_count() != errors_before || path.empty()) return;
  auto s = LoadJsonSchema(path);
  if (!s.ok()) return ctx.reader.Error(n, s.status().message());
  schema = std::move(*s);
}

}  // namespace writ
