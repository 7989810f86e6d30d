// The saga's step templates (saga_template.h): values from the input and
// earlier answers by JSON Pointer, and never a change to the request's
// structure, whatever the values hold.
#include "patterns/saga/saga_template.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/json.h"

namespace writ {
namespace {

namespace json = boost::json;

json::value Context(const std::string& input) {
  auto in = ParseJsonStrict(input);
  EXPECT_TRUE(in.ok()) << input;
  json::object steps{{"reserve", {{"status", 201}, {"body", {{"id", "res 1/2"}, {"total", 12.5}}}}}};
  return json::object{{"input", *in}, {"steps", std::move(steps)}};
}

std::string Path(const std::string& tmpl, const json::value& ctx) {
  auto t = SagaTemplate::Parse(tmpl);
  EXPECT_TRUE(t.ok()) << t.status().message();
  auto p = t->ExpandPath(ctx);
  return p.ok() ? *p : "error: " + p.status().message();
}

json::value Body(const std::string& tmpl, const json::value& ctx) {
  auto v = ParseJsonStrict(tmpl);
  EXPECT_TRUE(v.ok()) << tmpl;
  auto t = SagaBodyTemplate::Parse(*v);
  EXPECT_TRUE(t.ok()) << t.status().message();
  auto out = t->Expand(ctx);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? *out : json::value();
}

TEST(SagaTemplate, PathsTakeValuesPercentEncodedInTheirSegment) {
  auto ctx = Context(R"({"customerId":"c-7","n":42})");
  EXPECT_EQ(Path("/customers/{{/input/customerId}}/orders", ctx), "/customers/c-7/orders");
  EXPECT_EQ(Path("/reservations/{{/steps/reserve/body/id}}", ctx), "/reservations/res%201%2F2");
  EXPECT_EQ(Path("/n/{{/input/n}}", ctx), "/n/42");
  EXPECT_EQ(Path("/plain", ctx), "/plain");
}

TEST(SagaTemplate, AValueCannotLeaveItsPathSegment) {
  auto ctx =
      Context(R"({"a":"../admin","b":"x?debug=1#frag","c":"%2e%2e","d":"..","e":"","f":".","g":{"k":1},"h":true})");
  EXPECT_EQ(Path("/r/{{/input/a}}", ctx), "/r/..%2Fadmin");
  EXPECT_EQ(Path("/r/{{/input/b}}", ctx), "/r/x%3Fdebug%3D1%23frag");
  EXPECT_EQ(Path("/r/{{/input/c}}", ctx), "/r/%252e%252e");
  for (const char* p : {"/input/d", "/input/e", "/input/f"})
    EXPECT_NE(Path(std::string("/r/{{") + p + "}}", ctx).find("cannot be empty, '.' or '..'"), std::string::npos) << p;
  EXPECT_NE(Path("/r/{{/input/g}}", ctx).find("an object: a path takes a string or a number"), std::string::npos);
  EXPECT_NE(Path("/r/{{/input/h}}", ctx).find("not text"), std::string::npos);
}

TEST(SagaTemplate, BodiesTakeValuesAsJsonAndInterpolateText) {
  auto ctx = Context(R"({"sku":"A-1","qty":3,"address":{"city":"Oslo"},"tags":["x"]})");
  auto b = Body(R"({"sku":"{{/input/sku}}","qty":"{{/input/qty}}","ship":"{{/input/address}}",
                   "tags":"{{/input/tags}}","ref":"{{/steps/reserve/body/id}}","total":"{{/steps/reserve/body/total}}",
                   "note":"{{/input/qty}} of {{/input/sku}}","fixed":[1,"two",{"three":null}],"ok":true})",
                ctx);
  EXPECT_EQ(b, ParseJsonStrict(R"({"sku":"A-1","qty":3,"ship":{"city":"Oslo"},"tags":["x"],"ref":"res 1/2",
                                  "total":12.5,"note":"3 of A-1","fixed":[1,"two",{"three":null}],"ok":true})")
                   .value());
}

// Quotes, braces and placeholders inside values are data: the body keeps
// exactly the template's shape, and nothing is expanded twice.
TEST(SagaTemplate, InjectionAttemptsStayData) {
  auto ctx = Context(R"({"name":"x\", \"admin\": true, \"y\": \"","brace":"}}{{/input/secret}}",
                         "secret":"s3cret","nested":"{{/input/secret}}"})");
  auto b = Body(R"({"name":"{{/input/name}}","greeting":"hi {{/input/name}}","n":"{{/input/nested}}",
                   "b":"{{/input/brace}}"})",
                ctx);
  ASSERT_TRUE(b.is_object());
  const auto& o = b.as_object();
  EXPECT_EQ(o.size(), 4u) << "no field added";
  EXPECT_FALSE(o.contains("admin"));
  EXPECT_EQ(o.at("name").as_string(), "x\", \"admin\": true, \"y\": \"");
  EXPECT_EQ(o.at("greeting").as_string(), "hi x\", \"admin\": true, \"y\": \"");
  EXPECT_EQ(o.at("n").as_string(), "{{/input/secret}}") << "a value is never expanded again";
  EXPECT_EQ(o.at("b").as_string(), "}}{{/input/secret}}");
  std::string text = json::serialize(b);
  auto again = ParseJsonStrict(text);
  ASSERT_TRUE(again.ok()) << text;
  EXPECT_EQ(*again, b) << "the serialized body parses back to the same four fields";
  EXPECT_EQ(Path("/u/{{/input/brace}}", ctx), "/u/%7D%7D%7B%7B%2Finput%2Fsecret%7D%7D");
}

TEST(SagaTemplate, ObjectKeysAreNeverExpanded) {
  auto ctx = Context(R"({"k":"admin"})");
  auto b = Body(R"({"{{/input/k}}":"{{/input/k}}"})", ctx);
  EXPECT_EQ(b, ParseJsonStrict(R"({"{{/input/k}}":"admin"})").value());
}

TEST(SagaTemplate, BadTemplatesAreRefusedWithTheReason) {
  struct Case {
    const char* text;
    const char* error;
  };
  for (const Case& c : {Case{"/r/{{/input/a", "an unclosed '{{'"}, Case{"/r/{{input/a}}", "is no JSON Pointer"},
                        Case{"/r/{{}}", "is no JSON Pointer"}, Case{"/r/{{/a~2}}", "'~' in a JSON Pointer is ~0 or ~1"},
                        Case{"/r/{{/a/{{/b}}", "is no JSON Pointer"}}) {
    auto t = SagaTemplate::Parse(c.text);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_NE(t.status().message().find(c.error), std::string::npos) << c.text << ": " << t.status().message();
  }
  EXPECT_TRUE(SagaTemplate::Parse("/a}}b").ok()) << "a '}}' alone is text";
  auto body = SagaBodyTemplate::Parse(ParseJsonStrict(R"({"a":[{"b":"{{/input"}]})").value());
  ASSERT_FALSE(body.ok());
  EXPECT_NE(body.status().message().find("an unclosed '{{'"), std::string::npos);
}

TEST(SagaTemplate, APointerThatNamesNothingIsAnError) {
  auto ctx = Context(R"({"a":1})");
  auto t = SagaTemplate::Parse("/r/{{/input/missing}}");
  ASSERT_TRUE(t.ok());
  auto p = t->ExpandPath(ctx);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("'/input/missing' names nothing"), std::string::npos);
  auto body = SagaBodyTemplate::Parse(ParseJsonStrict(R"({"x":"{{/steps/charge/body/id}}"})").value());
  ASSERT_TRUE(body.ok());
  EXPECT_FALSE(body->Expand(ctx).ok()) << "a step not yet answered";
  EXPECT_EQ(body->pointers(), std::vector<std::string>{"/steps/charge/body/id"});
  EXPECT_EQ(SagaTemplate::Parse("/a/{{/input/x}}/{{/steps/s/body/~1y}}")->pointers(),
            (std::vector<std::string>{"/input/x", "/steps/s/body/~1y"}));
}

}  // namespace
}  // namespace writ
