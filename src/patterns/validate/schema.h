// Payload contract: a route's JSON Schema (draft 7, via valijson), compiled
// once at start-up. Violations are reported as (JSON Pointer, reason) pairs
// for a 422 problem; values are never echoed back.
// Thread-safety: Validate may be called concurrently on a compiled schema.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "core/status.h"

namespace writ {

struct SchemaViolation {
  std::string pointer;  // "" is the document root
  std::string reason;
};

class JsonSchema {
 public:
  virtual ~JsonSchema() = default;
  virtual std::vector<SchemaViolation> Validate(const boost::json::value& doc) const = 0;
};

// Reads and compiles a schema file; the error names the file and the cause.
Result<std::shared_ptr<const JsonSchema>> LoadJsonSchema(const std::string& path);
// The same schema with every `required` keyword left out: a half-filled
// document passes, a member of the wrong type or format does not (drafts).
Result<std::shared_ptr<const JsonSchema>> LoadLooseJsonSchema(const std::string& path);
Result<std::shared_ptr<const JsonSchema>> CompileJsonSchema(const std::string& text, const std::string& name);

}  // namespace writ

namespace writ {

struct ModeContext;
// Reads a route's `validate:` key (a schema file, resolved against the
// config's folder) and compiles it; errors are reported at the key.
void ReadSchemaKey(ModeContext& ctx, std::string& path, std::shared_ptr<const JsonSchema>& schema);

}  // namespace writ
