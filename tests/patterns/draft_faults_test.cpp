// Fail-at-every-step for drafts: a client creates a draft, saves it twice
// and submits it, retrying each step as a real client does (same
// Idempotency-Key, re-reading the ETag after a 412), while the store fails
// call N for every N (and, separately, commits and then reports failure).
// For every N: the draft reaches the master at most once, exactly once when
// the client got its 2xx submit; every 2xx answer to one key is the same;
// no save is lost or applied twice (the final document holds both saves).
#include <gtest/gtest.h>

#include <future>

#include "patterns/draft/draft_route.h"
#include "patterns/registry.h"
#include "testing/cluster.h"
#include "testing/fault_store.h"
#include "testing/in_process.h"

namespace writ::testing {
namespace {

namespace json = boost::json;

struct Outcome {
  int applied = 0;
  std::vector<std::string> submit_answers;  // bodies of every 2xx submit
  std::string final_data;
  int final_version = 0;
  bool submitted = false;
  bool fired = false;
};

Response Send(DraftRoute& route, const std::string& method, const std::string& path, const std::string& body,
              Headers headers, PathParams params) {
  Request req;
  req.method = method;
  req.target = req.path = path;
  req.headers = std::move(headers);
  req.body = body;
  std::promise<Response> p;
  route.Handle(req, std::move(params), [&p](Response r, RequestInfo) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

Outcome RunWithFault(int fail_at, bool commit_then_fail) {
  TempDir dir;
  FakeClock clock;
  StoreOptions so;
  so.url = "sqlite:" + dir.path() + "/w.db";
  so.clock = &clock;
  so.schema = AllSchemaSteps();
  auto inner = OpenStore(so);
  EXPECT_TRUE(inner.ok());
  FaultDatabase faulty((*inner)->db(), fail_at, commit_then_fail);
  Store store(faulty);
  HonouringMaster master;
  LoopScheduler scheduler;
  Metrics metrics;
  Rng rng(1);
  RouteConfig rc;
  rc.name = rc.path = "/drafts";
  rc.upstream_path = "/applications";
  rc.mode = "draft";
  rc.idempotency.final_statuses.include = {{200, 299}, {400, 499}};
  rc.idempotency.lease = 5'000;
  DraftSettings ds;
  DraftRoute route(rc, ds, UpstreamConfig{}, store, master, scheduler, metrics, rng, nullptr);
  Outcome out;
  const Headers json_ct = {{"Content-Type", "application/json"}};

  // Create, retried with one key until it answers 201.
  std::string id;
  for (int i = 0; i < 6 && id.empty(); ++i) {
    Headers h = json_ct;
    h.emplace_back("Idempotency-Key", "create");
    auto r = Send(route, "POST", "/drafts", R"({"a":1})", h, {});
    if (r.status == 201) id = std::string(ParseBody(r).as_object()["draftId"].as_string());
  }
  if (id.empty()) {
    ADD_FAILURE() << "the create never succeeded";
    return out;
  }
  PathParams params{{"draftId", id}};
  // Two saves, each retried with its key; a 412 means re-read and re-apply.
  for (const char* save : {"b", "c"}) {
    bool done = false;
    for (int i = 0; i < 8 && !done; ++i) {
      auto cur = Send(route, "GET", "/drafts/" + id, "", {}, params);
      if (cur.status != 200) continue;
      std::string etag(*FindHeader(cur.headers, "ETag"));
      Headers h = {{"Content-Type", "application/merge-patch+json"}, {"If-Match", etag},
                   {"Idempotency-Key", std::string("save-") + save}};
      auto r = Send(route, "PATCH", "/drafts/" + id, std::string("{\"") + save + "\":1}", h, params);
      done = r.status == 200;
    }
    EXPECT_TRUE(done) << "save " << save << " never applied";
  }
  // Submit, retried with one key (after a lease-holding 409: time passes).
  for (int i = 0; i < 8; ++i) {
    auto cur = Send(route, "GET", "/drafts/" + id, "", {}, params);
    if (cur.status != 200) continue;
    if (ParseBody(cur).as_object()["status"] == "submitted") {
      out.submitted = true;
      break;
    }
    std::string etag(*FindHeader(cur.headers, "ETag"));
    auto r = Send(route, "POST", "/drafts/" + id + "/submit", "", {{"If-Match", etag}, {"Idempotency-Key", "submit"}},
                  params);
    if (r.status >= 200 && r.status < 300) out.submit_answers.push_back(r.body);
    if (r.status == 409) clock.Advance(5'001);
  }
  Response final;
  final.status = 0;
  for (int i = 0; i < 3 && final.status != 200; ++i) final = Send(route, "GET", "/drafts/" + id, "", {}, params);
  if (final.status == 200) {
    auto body = ParseBody(final).as_object();
    out.final_data = json::serialize(body["data"]);
    out.final_version = static_cast<int>(body["version"].to_number<int64_t>());
    out.submitted = body["status"] == "submitted";
  }
  out.applied = master.applied();
  out.fired = faulty.fired();
  scheduler.Stop();
  return out;
}

void CheckInvariants(const Outcome& o, int n, const char* mode) {
  SCOPED_TRACE(std::string(mode) + " failing store call " + std::to_string(n));
  EXPECT_LE(o.applied, 1) << "a draft applied twice";
  if (!o.submit_answers.empty()) {
    EXPECT_EQ(o.applied, 1) << "a 2xx submit the master never saw";
    for (const auto& a : o.submit_answers) EXPECT_EQ(a, o.submit_answers.front()) << "every 2xx is the first answer";
  }
  EXPECT_EQ(o.final_data, R"({"a":1,"b":1,"c":1})") << "a save lost or applied twice";
  EXPECT_EQ(o.final_version, 3) << "each save bumps the version by exactly one";
}

TEST(DraftFaults, FailEveryStoreCallInTurn) {
  int n = 0;
  for (;; ++n) {
    auto o = RunWithFault(n, false);
    CheckInvariants(o, n, "fail");
    EXPECT_TRUE(o.submitted) << "call " << n << " failing left the draft unsubmitted";
    if (!o.fired) break;
  }
  EXPECT_GT(n, 10) << "the loop covered every step of the exchange";
}

TEST(DraftFaults, CommitThenReportFailureAtEveryStoreCall) {
  int n = 0;
  for (;; ++n) {
    auto o = RunWithFault(n, true);
    CheckInvariants(o, n, "commit-then-fail");
    EXPECT_TRUE(o.submitted) << "call " << n;
    if (!o.fired) break;
  }
  EXPECT_GT(n, 10);
}

}  // namespace
}  // namespace writ::testing
