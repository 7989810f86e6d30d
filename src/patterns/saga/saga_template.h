// mode: saga: the templates a saga's steps are built from. A step's path and
// body name values of the saga's input and of earlier steps' answers by JSON
// Pointer, and nothing else: no expressions, no code.
//   path: /reservations/{{/steps/reserve/body/id}}/cancel
//   body: {"sku": "{{/input/sku}}", "qty": "{{/input/qty}}", "note": "for {{/input/customer}}"}
// The context the pointers point into is one JSON object:
//   {"input": <the saga's request body>,
//    "steps": {"<name>": {"status": 201, "body": <its answer, parsed>}, ...}}
//
// Substitution can never change the request's structure:
//   * a path's values are percent-encoded (all but A-Z a-z 0-9 - . _ ~), so a
//     "/", "?", "#" or "%" in a value stays inside its segment; a value that is
//     empty, "." or ".." is refused (it would remove or climb a segment);
//   * a body is a JSON value, expanded as a tree: a string that is exactly one
//     placeholder takes the value itself (number, object, ... as it is); a
//     placeholder inside a longer string puts the value's text there; either
//     way the result is serialized by the JSON writer, so quotes and braces in
//     a value stay data;
//   * expansion is one pass: a value holding "{{/input/x}}" is inserted as
//     those characters and never expanded again.
// A pointer that names nothing is an error (the step cannot be built), as is a
// path value that is not a string or a number.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/status.h"

namespace writ {

// A string with {{/pointer}} placeholders.
class SagaTemplate {
 public:
  // Errors: an unclosed "{{", a placeholder that is not a JSON Pointer
  // ("{{input}}", "{{}}"). A "}}" with no "{{" is text.
  static Result<SagaTemplate> Parse(std::string_view text);

  // For a path: each value's text percent-encoded.
  Result<std::string> ExpandPath(const boost::json::value& context) const;
  // For text inside a JSON string: each value's text as it is (strings
  // unquoted, other values as JSON).
  Result<std::string> ExpandText(const boost::json::value& context) const;
  // The template is exactly one placeholder and nothing else.
  bool whole() const { return parts_.size() == 1 && parts_[0].pointer; }
  // The pointers it names, in order (for config checks).
  std::vector<std::string> pointers() const;
  const std::string& text() const { return text_; }

 private:
  // Each value's text as `piece` makes it (or its refusal).
  using Piece = std::function<Result<std::string>(const std::string& pointer, const boost::json::value& value)>;
  Result<std::string> Expand(const boost::json::value& context, const Piece& piece) const;
  struct Part {
    bool pointer = false;
    std::string text;  // literal text, or the JSON Pointer
  };
  std::string text_;
  std::vector<Part> parts_;
};

// A JSON value whose strings may hold placeholders (a step's body).
class SagaBodyTemplate {
 public:
  static Result<SagaBodyTemplate> Parse(const boost::json::value& body);
  Result<boost::json::value> Expand(const boost::json::value& context) const;
  // Every pointer the body names (for config checks).
  std::vector<std::string> pointers() const;

 private:
  boost::json::value body_;
};

// The value at `pointer` in `context`, or an error naming the pointer.
Result<const boost::json::value*> SagaLookup(const boost::json::value& context, const std::string& pointer);

}  // namespace writ
