// Drafts (CP-4) end to end: real mock master and writ processes over
// loopback. Versions and If-Match (one winner among 16 concurrent saves),
// merge and JSON patches, loose saves and strict submits, sync and async
// submits with replays and refusals, keyed saves, reads, erasure and GC.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "testing/cluster.h"

namespace writ::testing {
namespace {

namespace json = boost::json;

constexpr const char* kBase = "/applications/drafts";

constexpr const char* kSchema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["name", "amount"],
  "properties": {
    "name": {"type": "string", "minLength": 1},
    "amount": {"type": "number", "exclusiveMinimum": 0},
    "tags": {"type": "array", "items": {"type": "string"}},
    "address": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
    "invalid": {"type": "boolean"}
  }
})";

RouteOptions DraftRoute(const std::string& draft_yaml = "", const std::string& extra = "") {
  RouteOptions r;
  r.method = "";
  r.path = kBase;
  r.mode = "draft";
  r.extra = "upstream_path: /applications\nvalidate: schema.json\n";
  if (!draft_yaml.empty()) {
    r.extra += "draft:\n";
    std::istringstream in(draft_yaml);
    for (std::string line; std::getline(in, line);) r.extra += "  " + line + "\n";
  }
  r.extra += extra;
  return r;
}

int64_t Int(const json::value& v, const char* k) {
  auto* x = v.is_object() ? v.as_object().if_contains(k) : nullptr;
  return x && x->is_number() ? x->to_number<int64_t>() : -1;
}
std::string Etag(const Response& r) { return std::string(FindHeader(r.headers, "ETag").value_or("")); }

class DraftTest : public ::testing::Test {
 protected:
  void Start(const std::string& draft_yaml = "", const std::string& extra = "",
             const std::vector<std::string>& master_flags = {"--honor-idempotency-key"}) {
    std::ofstream(dir_.path() + "/schema.json") << kSchema;
    master_.Start(dir_.path(), master_flags);
    writ_.Start(dir_.path(), master_.port(), {DraftRoute(draft_yaml, extra)});
  }
  Response Create(const std::string& body, const Headers& extra = {}) {
    Headers h = {{"Content-Type", "application/json"}};
    h.insert(h.end(), extra.begin(), extra.end());
    return Call(writ_.port(), "POST", kBase, body, h);
  }
  std::string NewDraft(const std::string& body) {
    auto r = Create(body);
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(ParseBody(r), "draftId");
  }
  Response Get(const std::string& id, const Headers& h = {}) {
    return Call(writ_.port(), "GET", std::string(kBase) + "/" + id, "", h);
  }
  Response Put(const std::string& id, const std::string& body, const std::string& if_match, Headers h = {}) {
    h.emplace_back("Content-Type", "application/json");
    if (!if_match.empty()) h.emplace_back("If-Match", if_match);
    return Call(writ_.port(), "PUT", std::string(kBase) + "/" + id, body, h);
  }
  Response Patch(const std::string& id, const std::string& type, const std::string& body,
                 const std::string& if_match) {
    Headers h = {{"Content-Type", type}};
    if (!if_match.empty()) h.emplace_back("If-Match", if_match);
    return Call(writ_.port(), "PATCH", std::string(kBase) + "/" + id, body, h);
  }
  Response Submit(const std::string& id, const std::string& if_match, const std::string& key) {
    Headers h;
    if (!if_match.empty()) h.emplace_back("If-Match", if_match);
    if (!key.empty()) h.emplace_back("Idempotency-Key", key);
    return Call(writ_.port(), "POST", std::string(kBase) + "/" + id + "/submit", "", h);
  }
  json::value Data(const std::string& id) { return ParseBody(Get(id)).as_object()["data"]; }

  TempDir dir_;
  MockMasterProcess master_;
  WritProcess writ_;
};

TEST_F(DraftTest, CreateReadAndConditionalReads) {
  Start();
  auto c = Create(R"({"name": "Ada"})", {{"If-None-Match", "*"}});
  ASSERT_EQ(c.status, 201) << c.body;
  auto body = ParseBody(c);
  std::string id = Str(body, "draftId");
  EXPECT_EQ(id.size(), 34u) << "d_ + 128 random bits";
  EXPECT_EQ(Int(body, "version"), 1);
  EXPECT_EQ(Str(body, "status"), "open");
  EXPECT_EQ(Etag(c), "\"1\"");
  EXPECT_EQ(*FindHeader(c.headers, "Location"), std::string(kBase) + "/" + id);
  EXPECT_FALSE(Str(body, "expiresAt").empty());
  auto g = Get(id);
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(Etag(g), "\"1\"");
  EXPECT_EQ(json::serialize(ParseBody(g).as_object()["data"]), R"({"name":"Ada"})");
  EXPECT_EQ(Get(id, {{"If-None-Match", "\"1\""}}).status, 304);
  EXPECT_EQ(Get(id, {{"If-None-Match", "W/\"1\""}}).status, 304) << "weak comparison";
  EXPECT_EQ(Get(id, {{"If-None-Match", "\"2\""}}).status, 200);
  EXPECT_EQ(Get("d_nope").status, 404);
  EXPECT_EQ(Create("[1,2]").status, 422) << "a draft's data is an object";
  EXPECT_EQ(Create("{oops").status, 400);
  EXPECT_EQ(Create("{}", {{"If-Match", "\"1\""}}).status, 400) << "a create names no existing version";
}

TEST_F(DraftTest, SixteenConcurrentPutsWithOneIfMatchHaveExactlyOneWinner) {
  Start();
  std::string id = NewDraft(R"({"name": "start"})");
  std::atomic<int> ok{0}, stale{0}, other{0};
  std::vector<std::thread> tabs;
  for (int i = 0; i < 16; ++i)
    tabs.emplace_back([&, i] {
      auto r = Put(id, "{\"name\": \"tab " + std::to_string(i) + "\"}", "\"1\"");
      if (r.status == 200) ++ok;
      else if (r.status == 412 && ProblemType(r) == "draft-version-stale" && Etag(r) == "\"2\"") ++stale;
      else ++other;
    });
  for (auto& t : tabs) t.join();
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(stale, 15);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(Etag(Get(id)), "\"2\"") << "version + 1, exactly";
}

TEST_F(DraftTest, IfMatchIsRequiredAndStaleSavesCarryTheCurrentEtag) {
  Start();
  std::string id = NewDraft(R"({"name": "a"})");
  auto missing = Put(id, R"({"name": "b"})", "");
  EXPECT_EQ(missing.status, 428);
  EXPECT_EQ(ProblemType(missing), "if-match-required");
  EXPECT_EQ(Patch(id, "application/merge-patch+json", "{}", "").status, 428);
  EXPECT_EQ(Put(id, R"({"name": "b"})", "\"1\"").status, 200);
  auto stale = Put(id, R"({"name": "c"})", "\"1\"");
  ASSERT_EQ(stale.status, 412);
  EXPECT_EQ(Str(ParseBody(stale), "etag"), "\"2\"");
  EXPECT_EQ(Int(ParseBody(stale), "version"), 2);
  EXPECT_EQ(Put(id, R"({"name": "c"})", "W/\"2\"").status, 412) << "If-Match compares strongly";
  EXPECT_EQ(Put(id, R"({"name": "c"})", "\"9\", \"2\"").status, 200) << "a list matches any of its tags";
  EXPECT_EQ(Put(id, R"({"name": "d"})", "*").status, 200) << "If-Match: * saves over any version";
  EXPECT_EQ(Etag(Get(id)), "\"4\"");
  for (const char* bad : {"1", "\"1", "W/1", "\"1\",", "\"1\" \"2\"", "\"a b\""})
    EXPECT_EQ(Put(id, "{}", bad).status, 400) << bad;
}

TEST_F(DraftTest, MergePatchAndJsonPatch) {
  Start();
  std::string id = NewDraft(R"({"name": "Ada", "tags": ["x"], "address": {"city": "Oslo"}})");
  auto m = Patch(id, "application/merge-patch+json", R"({"amount": 10, "address": null})", "\"1\"");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(json::serialize(Data(id)), R"({"name":"Ada","tags":["x"],"amount":10})") << "null deletes";
  auto p = Patch(id, "application/json-patch+json",
                 R"([{"op":"test","path":"/name","value":"Ada"},{"op":"add","path":"/tags/-","value":"y"},)"
                 R"({"op":"replace","path":"/amount","value":20},{"op":"remove","path":"/name"}])",
                 "\"2\"");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(json::serialize(Data(id)), R"({"tags":["x","y"],"amount":20})");
  // A failing test: 409 naming the operation; nothing of the patch applied.
  auto t = Patch(id, "application/json-patch+json",
                 R"([{"op":"replace","path":"/amount","value":30},{"op":"test","path":"/amount","value":99}])",
                 "\"3\"");
  EXPECT_EQ(t.status, 409);
  EXPECT_EQ(ProblemType(t), "patch-test-failed");
  EXPECT_EQ(Int(ParseBody(t), "operation"), 1);
  EXPECT_EQ(Etag(Get(id)), "\"3\"");
  EXPECT_EQ(Int(Data(id), "amount"), 20) << "the patch is atomic";
  // A path outside the document: 409 with the index.
  auto outside = Patch(id, "application/json-patch+json", R"([{"op":"remove","path":"/nope/deeper"}])", "\"3\"");
  EXPECT_EQ(outside.status, 409);
  EXPECT_EQ(Int(ParseBody(outside), "operation"), 0);
  auto bad_op = Patch(id, "application/json-patch+json", R"([{"op":"move","path":"/a"}])", "\"3\"");
  EXPECT_EQ(bad_op.status, 422) << "move without from";
  EXPECT_EQ(Patch(id, "application/json", "{}", "\"3\"").status, 415);
  EXPECT_EQ(Patch(id, "application/json-patch+json", R"({"op":"add"})", "\"3\"").status, 422);
  // Versions list what each save changed, newest first.
  auto v = Call(writ_.port(), "GET", std::string(kBase) + "/" + id + "/versions");
  ASSERT_EQ(v.status, 200);
  auto versions = ParseBody(v).as_object()["versions"].as_array();
  ASSERT_EQ(versions.size(), 3u);
  EXPECT_EQ(Int(versions[0], "version"), 3);
  EXPECT_EQ(json::serialize(versions[1].as_object()["changed"]), R"(["/address","/amount"])");
}

TEST_F(DraftTest, SavesAreCheckedLooselyAndSubmitStrictly) {
  Start();
  std::string id = NewDraft(R"({"address": {}})");  // required fields missing: fine while drafting
  auto wrong = Put(id, R"({"amount": "ten"})", "\"1\"");
  ASSERT_EQ(wrong.status, 422) << "a wrong type is refused at once";
  json::value wrong_body = ParseBody(wrong);
  ASSERT_EQ(ProblemType(wrong), "schema-violation") << wrong.body;
  EXPECT_EQ(Str(wrong_body.as_object()["errors"].as_array().at(0), "pointer"), "/amount") << wrong.body;
  EXPECT_EQ(Etag(Get(id)), "\"1\"");
  auto submit = Submit(id, "\"1\"", "s1");
  ASSERT_EQ(submit.status, 422);
  EXPECT_EQ(ProblemType(submit), "draft-incomplete");
  std::set<std::string> pointers;
  json::value submit_body = ParseBody(submit);
  const json::array& errors = submit_body.as_object()["errors"].as_array();
  for (const auto& e : errors) pointers.insert(Str(e, "pointer"));
  EXPECT_EQ(pointers, (std::set<std::string>{"", "/address"})) << "every violation: name, amount, city";
  EXPECT_EQ(errors.size(), 3u) << submit.body;
  EXPECT_EQ(master_.Stat("requests"), 0) << "nothing sent";
  EXPECT_EQ(Str(ParseBody(Get(id)), "status"), "open");
}

TEST_F(DraftTest, SyncSubmitSendsOnceReplaysAndFreezesTheDraft) {
  Start();
  std::string id = NewDraft(R"({"name": "Ada", "amount": 5})");
  EXPECT_EQ(Submit(id, "\"1\"", "").status, 400) << "a submit needs an Idempotency-Key";
  EXPECT_EQ(Submit(id, "", "s1").status, 428);
  EXPECT_EQ(Submit(id, "\"7\"", "s1").status, 412);
  auto s = Submit(id, "\"1\"", "s1");
  ASSERT_EQ(s.status, 201) << s.body;
  EXPECT_EQ(Str(ParseBody(s), "name"), "Ada") << "the master's answer";
  auto again = Submit(id, "\"1\"", "s1");
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, s.body);
  EXPECT_EQ(*FindHeader(again.headers, "Idempotent-Replayed"), "true");
  EXPECT_EQ(master_.Stat("applied"), 1);
  auto d = ParseBody(Get(id));
  EXPECT_EQ(Str(d, "status"), "submitted");
  EXPECT_EQ(Str(d, "canonicalId"), Str(ParseBody(s), "id"));
  auto frozen = Put(id, R"({"name": "late"})", "\"1\"");
  EXPECT_EQ(frozen.status, 409);
  EXPECT_EQ(ProblemType(frozen), "draft-submitted");
  EXPECT_EQ(Submit(id, "\"1\"", "s2").status, 409) << "submitted once; another key does not send again";
  EXPECT_EQ(master_.Stat("applied"), 1);
}

TEST_F(DraftTest, AFinalRefusalReopensTheDraftWithTheAnswer) {
  Start();
  std::string id = NewDraft(R"({"name": "Ada", "amount": 5, "invalid": true})");
  auto refused = Submit(id, "\"1\"", "s1");
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(ProblemType(refused), "validation-failed") << "the master's own answer";
  auto d = ParseBody(Get(id));
  EXPECT_EQ(Str(d, "status"), "open");
  EXPECT_EQ(Int(d.as_object()["lastRefusal"], "status"), 422);
  EXPECT_EQ(Submit(id, "\"1\"", "s1").body, refused.body) << "the same key replays the refusal";
  ASSERT_EQ(Patch(id, "application/merge-patch+json", R"({"invalid": false})", "\"1\"").status, 200);
  auto ok = Submit(id, "\"2\"", "s2");
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(master_.Stat("applied"), 1);
  EXPECT_EQ(Str(ParseBody(Get(id)), "status"), "submitted");
}

TEST_F(DraftTest, AsyncSubmitAnswers202AndTheDraftFollowsItsSubmission) {
  Start("submit: async", "async:\n  lease: 4s\n  poll_interval: 50ms\n");
  std::string id = NewDraft(R"({"name": "Ada", "amount": 5})");
  auto s = Submit(id, "\"1\"", "s1");
  ASSERT_EQ(s.status, 202) << s.body;
  std::string sub = Str(ParseBody(s), "submissionId");
  EXPECT_EQ(*FindHeader(s.headers, "Location"), "/v1/submissions/" + sub);
  EXPECT_EQ(Submit(id, "\"1\"", "s1").body, s.body) << "a retry replays the 202";
  ASSERT_TRUE(Eventually([&] { return Str(ParseBody(Get(id)), "status") == "submitted"; }));
  auto d = ParseBody(Get(id));
  EXPECT_FALSE(Str(d, "canonicalId").empty());
  EXPECT_EQ(Str(d, "submissionId"), sub);
  auto status = Call(writ_.port(), "GET", "/v1/submissions/" + sub);
  EXPECT_EQ(Str(ParseBody(status), "status"), "succeeded") << status.body;
  EXPECT_EQ(master_.Stat("applied"), 1);
  // A refusal through the worker reopens the draft.
  std::string bad = NewDraft(R"({"name": "B", "amount": 1, "invalid": true})");
  ASSERT_EQ(Submit(bad, "\"1\"", "s1").status, 202);
  ASSERT_TRUE(Eventually([&] { return Int(ParseBody(Get(bad)).as_object()["lastRefusal"], "status") == 422; }));
  EXPECT_EQ(Str(ParseBody(Get(bad)), "status"), "open");
}

TEST_F(DraftTest, AKeyedSaveReplaysItsFirstAnswerEvenAfterTheVersionMoved) {
  Start();
  std::string id = NewDraft(R"({"name": "a"})");
  auto first = Put(id, R"({"name": "b"})", "\"1\"", {{"Idempotency-Key", "save-1"}});
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(Put(id, R"({"name": "c"})", "\"2\"").status, 200);  // the other tab
  auto retry = Put(id, R"({"name": "b"})", "\"1\"", {{"Idempotency-Key", "save-1"}});
  EXPECT_EQ(retry.status, 200) << "replayed, not 412";
  EXPECT_EQ(retry.body, first.body);
  EXPECT_EQ(*FindHeader(retry.headers, "Idempotent-Replayed"), "true");
  EXPECT_EQ(Etag(Get(id)), "\"3\"");
  EXPECT_EQ(Put(id, R"({"name": "other"})", "\"3\"", {{"Idempotency-Key", "save-1"}}).status, 422)
      << "the key with another body";
  // A keyed create replays too, and creates one draft.
  auto c1 = Create(R"({"name": "x"})", {{"Idempotency-Key", "create-1"}});
  auto c2 = Create(R"({"name": "x"})", {{"Idempotency-Key", "create-1"}});
  EXPECT_EQ(c1.status, 201);
  EXPECT_EQ(c2.body, c1.body);
}

TEST_F(DraftTest, ListsByStatusWithACursor) {
  Start();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(NewDraft("{\"name\": \"n" + std::to_string(i) + "\", \"amount\": 1}"));
  ASSERT_EQ(Submit(ids[0], "\"1\"", "s").status, 201);
  auto page = Call(writ_.port(), "GET", std::string(kBase) + "?status=open&limit=3");
  ASSERT_EQ(page.status, 200);
  auto body = ParseBody(page).as_object();
  ASSERT_EQ(body["drafts"].as_array().size(), 3u);
  EXPECT_EQ(Str(body["drafts"].as_array()[0], "draftId"), ids[1]);
  auto next = Call(writ_.port(), "GET", std::string(kBase) + "?status=open&limit=3&cursor=" + Str(body, "nextCursor"));
  EXPECT_EQ(ParseBody(next).as_object()["drafts"].as_array().size(), 1u);
  EXPECT_EQ(Call(writ_.port(), "GET", std::string(kBase) + "?status=nope").status, 400);
}

TEST_F(DraftTest, DeleteErasesAndIdleDraftsAreErasedByGc) {
  writ_.set_store_extra("gc_interval: 100ms");
  Start("retention: 1s");
  std::string id = NewDraft(R"({"name": "a"})");
  EXPECT_EQ(Call(writ_.port(), "DELETE", std::string(kBase) + "/" + id, "", {{"If-Match", "\"5\""}}).status, 412);
  auto del = Call(writ_.port(), "DELETE", std::string(kBase) + "/" + id);
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(Get(id).status, 404);
  EXPECT_EQ(Call(writ_.port(), "DELETE", std::string(kBase) + "/" + id).status, 404);
  std::string idle = NewDraft(R"({"name": "idle"})");
  ASSERT_TRUE(Eventually([&] { return Get(idle).status == 404; }, 10'000)) << "GC erases drafts past retention";
}

TEST_F(DraftTest, CliListsShowsAndErasesDrafts) {
  Start();
  std::string id = NewDraft(R"({"name": "cli", "secret": "s3cr3t"})");
  std::string out;
  ASSERT_EQ(RunWrit({"drafts", "list", "-c", writ_.config_path(), "--status", "open"}, &out), 0) << out;
  EXPECT_NE(out.find(id), std::string::npos) << out;
  out.clear();
  ASSERT_EQ(RunWrit({"drafts", "show", "-c", writ_.config_path(), id}, &out), 0) << out;
  EXPECT_NE(out.find("\"version\":1"), std::string::npos) << out;
  EXPECT_NE(out.find("s3cr3t"), std::string::npos) << "show prints the data for an operator";
  out.clear();
  ASSERT_EQ(RunWrit({"drafts", "delete", "-c", writ_.config_path(), id}, &out), 0) << out;
  EXPECT_EQ(Get(id).status, 404) << "erased under the running server";
  out.clear();
  EXPECT_EQ(RunWrit({"drafts", "delete", "-c", writ_.config_path(), id}, &out), 1) << out;
  EXPECT_NE(out.find("no such draft"), std::string::npos) << out;
}

}  // namespace
}  // namespace writ::testing
