#include "patterns/document/json_patch.h"

#include <nlohmann/json.hpp>

namespace writ {
namespace {

using Json = nlohmann::ordered_json;

PatchOutcome Fail(int status, const char* type, std::string detail, int index = -1) {
  PatchOutcome out;
  out.status = status;
  out.type = type;
  out.detail = std::move(detail);
  out.op_index = index;
  return out;
}

PatchOutcome Done(const Json& doc) {
  PatchOutcome out;
  out.ok = true;
  out.doc = doc.dump();
  return out;
}

}  // namespace

PatchOutcome ApplyMergePatch(const std::string& doc, const std::string& patch) {
  try {
    Json target = Json::parse(doc);
    target.merge_patch(Json::parse(patch));
    return Done(target);
  } catch (const Json::exception& e) {
    return Fail(422, "patch-invalid", std::string("the merge patch cannot be applied: ") + e.what());
  }
}

PatchOutcome ApplyJsonPatch(const std::string& doc, const std::string& patch) {
  Json target, ops;
  try {
    target = Json::parse(doc);
    ops = Json::parse(patch);
  } catch (const Json::exception& e) {
    return Fail(422, "patch-invalid", std::string("not JSON: ") + e.what());
  }
  if (!ops.is_array()) return Fail(422, "patch-invalid", "a JSON patch is an array of operations");
  // One operation at a time, so a failure names its index; on a copy, so
  // a failing patch changes nothing (RFC 6902 section 5).
  for (size_t i = 0; i < ops.size(); ++i) {
    const Json& op = ops[i];
    int index = static_cast<int>(i);
    if (!op.is_object() || !op.contains("op") || !op["op"].is_string() || !op.contains("path") ||
        !op["path"].is_string())
      return Fail(422, "patch-invalid", "operation " + std::to_string(i) + " needs string members op and path",
                  index);
    std::string name = op["op"].get<std::string>();
    try {
      target = target.patch(Json::array({op}));
    } catch (const Json::other_error& e) {  // 501: a test failed
      if (name == "test")
        return Fail(409, "patch-test-failed",
                    "operation " + std::to_string(i) + " (test " + op["path"].get<std::string>() +
                        ") failed: the document does not hold that value",
                    index);
      return Fail(422, "patch-invalid", "operation " + std::to_string(i) + ": " + e.what(), index);
    } catch (const Json::out_of_range& e) {  // the path is not in the document
      return Fail(409, "patch-conflict",
                  "operation " + std::to_string(i) + " (" + name + " " + op["path"].get<std::string>() +
                      "): the path is not in the document",
                  index);
    } catch (const Json::exception& e) {  // unknown op, malformed pointer, missing value/from
      return Fail(422, "patch-invalid", "operation " + std::to_string(i) + ": " + e.what(), index);
    }
  }
  return Done(target);
}

std::string ChangedPointers(const std::string& before, const std::string& after, size_t limit) {
  Json list = Json::array();
  try {
    Json diff = Json::diff(Json::parse(before), Json::parse(after));
    for (const auto& op : diff) {
      if (list.size() == limit) {
        list.push_back("/…");
        break;
      }
      std::string path = op.value("path", "");
      // Array appends show as /items/-; the array itself changed.
      if (path.size() >= 2 && path.compare(path.size() - 2, 2, "/-") == 0) path.resize(path.size() - 2);
      if (list.empty() || list.back() != path) list.push_back(path);
    }
  } catch (const Json::exception&) {
    list = Json::array({""});  // the whole document
  }
  return list.dump();
}

}  // namespace writ
