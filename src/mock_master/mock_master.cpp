#include "mock_master/mock_master.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <vector>

#include <boost/json.hpp>

#include "core/api_params.h"
#include "core/json.h"
#include "core/problem.h"
#include "http/runtime.h"
#include "http/server.h"

namespace writ {
namespace {

namespace json = boost::json;

class MockMaster {
 public:
  MockMaster(MockMasterOptions o, Scheduler& sched)
      : opts_(std::move(o)), sched_(sched), rng_(opts_.seed ? opts_.seed : std::random_device{}()) {}

  void Handle(Request req, std::function<void(Response)> done) {
    if (req.method == "GET" && req.path == "/_stats") return done(Stats());
    if (req.method == "GET" && req.path == "/_keys") return done(Keys());
    if (req.method == "GET" && req.path == "/_log") return done(Log());
    if (req.method == "GET" && req.path == "/_latency") return done(Latency());
    if (req.method == "POST" && req.path == "/_faults") return done(SetFaults(req.body));
    if (req.method == "GET" && req.target.find("clientRef=") != std::string::npos) return done(LookUp(req));
    if (req.method == "GET" && req.target.find("updatedSince=") != std::string::npos) return done(Changes(req));
    if (req.method == "GET" && req.target.find("after=") != std::string::npos) return done(ListById(req));
    if (req.method == "POST" && req.path == "/_seed") return done(Seed(req.body));
    if (req.method == "POST" && req.path == "/_tamper") return done(Tamper(req.body));
    if (req.method == "POST" && req.path == "/_reset") {
      std::lock_guard lock(mu_);
      records_.clear();
      versions_.clear();
      changes_.clear();
      change_of_.clear();
      paths_by_key_.clear();
      applied_by_key_.clear();
      requests_by_key_.clear();
      responses_by_key_.clear();
      log_.clear();
      requests_ = applied_ = errors_ = drops_ = hangs_ = replays_ = next_id_ = bulk_requests_ = bulk_refused_ = 0;
      errors_after_commit_ = 0;
      max_concurrent_per_key_ = 0;
      return done(JsonResponse(200, {{"reset", true}}));
    }
    Response resp;
    enum { kNormal, kDrop, kHang } fault = kNormal;
    // Requests per key in progress at once (two workers sending the same
    // command at the same time would show here).
    std::string key(FindHeader(req.headers, "Idempotency-Key").value_or(""));
    if (!key.empty() && req.method != "GET") {
      done = [this, key, done = std::move(done)](Response r) {
        {
          std::lock_guard lock(mu_);
          if (--in_progress_[key] == 0) in_progress_.erase(key);
        }
        done(std::move(r));
      };
    }
    {
      std::lock_guard lock(mu_);
      if (!key.empty() && req.method != "GET")
        max_concurrent_per_key_ = std::max(max_concurrent_per_key_, ++in_progress_[key]);
      ++requests_;
      bool write = req.method != "GET";
      bool bulk = write && IsBulk(req.path);
      if (write && Chance(opts_.error_rate)) {
        ++errors_;
        resp = Problem(opts_.error_status, "injected-error", "Injected failure",
                       "mock master error injected; nothing applied");
        if (opts_.retry_after > 0) resp.headers.emplace_back("Retry-After", std::to_string(opts_.retry_after));
        if (bulk) ++bulk_refused_;
        else Record(req, resp.status);
      } else if (bulk) {
        resp = ApplyBulk(req);
        if (Chance(opts_.drop_after_commit)) fault = kDrop, ++drops_;
        else if (Chance(opts_.error_after_commit)) resp = ErrorAfterCommit();
        else if (Chance(opts_.hang_rate)) fault = kHang, ++hangs_;
      } else {
        resp = Apply(req);
        if (write) Record(req, resp.status);
        if (write && Chance(opts_.drop_after_commit)) fault = kDrop, ++drops_;
        else if (write && Chance(opts_.error_after_commit)) resp = ErrorAfterCommit();
        else if (write && Chance(opts_.hang_rate)) fault = kHang, ++hangs_;
      }
    }
    if (fault == kDrop) {
      resp.reset_connection = true;
    } else if (fault == kHang) {
      Response reset;
      reset.reset_connection = true;
      sched_.After(opts_.hang_for, [done, reset] { done(reset); });
      return;
    }
    if (opts_.latency > 0) {
      sched_.After(opts_.latency, [done, resp = std::move(resp)] { done(resp); });
      return;
    }
    done(std::move(resp));
  }

 private:
  bool Chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  // The answer of a write that was applied but failed on the way back: a
  // 500 from the master after its commit, or a proxy's 504. Caller holds mu_.
  Response ErrorAfterCommit() {
    ++errors_after_commit_;
    bool proxy = Chance(0.5);
    return Problem(proxy ? 504 : 500, "injected-error-after-commit", proxy ? "Gateway timeout" : "Internal error",
                   "mock master error injected after the write was applied");
  }

  // Keeps a log of write requests (bounded) for ordering and timing checks.
  // Caller holds mu_.
  void Record(const Request& req, int status) {
    if (log_.size() >= kMaxLog) return;
    auto key = FindHeader(req.headers, "Idempotency-Key");
    double at = std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
    log_.push_back({{"at", at},
                    {"key", key ? std::string(*key) : ""},
                    {"method", req.method},
                    {"path", req.path},
                    {"target", req.target},
                    {"status", status},
                    {"body", req.body.substr(0, 4096)}});
    // Webhook receivers' tests check the Standard Webhooks headers.
    for (const char* h : {"webhook-id", "webhook-timestamp", "webhook-signature"})
      if (auto v = FindHeader(req.headers, h)) log_.back().as_object()[h] = std::string(*v);
  }

  static bool IsBulk(const std::string& path) {
    return path.size() > 7 && path.compare(path.size() - 6, 6, "/_bulk") == 0;
  }

  // POST /{collection}/_bulk {"items": [{"key": K, "body": {...}}, ...]}:
  // each item is applied like POST /{collection} under its own key and
  // logged on its own; the answer holds one result per item, in order.
  // Caller holds mu_.
  Response ApplyBulk(const Request& req) {
    auto v = ParseJsonStrict(req.body);
    const json::array* items = nullptr;
    if (v.ok() && v->is_object())
      if (auto* i = v->as_object().if_contains("items"); i && i->is_array()) items = &i->get_array();
    if (!items) return Problem(400, "invalid-body", "Invalid body", "a bulk request is {\"items\": [{\"key\", \"body\"}]}");
    ++bulk_requests_;
    std::string collection = req.path.substr(0, req.path.size() - 6);
    json::array results;
    for (const auto& item : *items) {
      Request one;
      one.method = "POST";
      one.path = collection;
      one.target = collection;
      one.headers = {{"Content-Type", "application/json"}};
      if (item.is_object()) {
        const auto& o = item.get_object();
        if (auto* k = o.if_contains("key"); k && k->is_string()) one.headers.emplace_back("Idempotency-Key", std::string(k->get_string()));
        if (auto* b = o.if_contains("body")) one.body = json::serialize(*b);
      }
      Response r = Apply(one);
      Record(one, r.status);
      json::object res;
      res["status"] = r.status;
      auto body = ParseJsonStrict(r.body);
      if (body.ok() && body->is_object()) {
        if (auto* id = body->as_object().if_contains("id")) res["id"] = *id;
        if (r.status >= 400)
          if (auto* d = body->as_object().if_contains("detail")) res["error"] = *d;
      }
      results.push_back(std::move(res));
    }
    return JsonResponse(200, {{"results", std::move(results)}});
  }

  // Applies a request to the records. Caller holds mu_.
  Response Apply(const Request& req) {
    auto key_it = FindHeader(req.headers, "Idempotency-Key");
    std::string key = key_it ? std::string(*key_it) : "";
    if (!key.empty() && req.method != "GET") ++requests_by_key_[key];
    if (opts_.honor_idempotency_key && !key.empty() && req.method != "GET") {
      if (auto it = responses_by_key_.find(key); it != responses_by_key_.end()) {
        ++replays_;
        return it->second;
      }
    }
    Response r = ApplyRecord(req);
    if (!key.empty() && req.method == "POST" && r.status < 300)
      if (auto loc = FindHeader(r.headers, "Location")) paths_by_key_[key].push_back(std::string(loc->substr(1)));
    // Lets tests see which request headers reached the master.
    if (FindHeader(req.headers, "Authorization")) r.headers.emplace_back("X-Authorization-Seen", "yes");
    if (req.method != "GET" && r.status < 300) {
      ++applied_;
      if (!key.empty()) ++applied_by_key_[key];
      if (opts_.honor_idempotency_key && !key.empty()) responses_by_key_[key] = r;
    }
    return r;
  }

  Response ApplyRecord(const Request& req) {
    std::vector<std::string> segs;
    for (size_t i = 1; i <= req.path.size();) {
      size_t j = req.path.find('/', i);
      if (j == std::string::npos) j = req.path.size();
      if (j > i) segs.push_back(req.path.substr(i, j - i));
      i = j + 1;
    }
    json::object body;
    if (!req.body.empty()) {
      auto v = ParseJsonStrict(req.body);
      if (!v.ok() || !v->is_object())
        return Problem(400, "invalid-body", "Invalid body", "the mock master takes JSON objects");
      body = std::move(v->get_object());
      if (auto* inv = body.if_contains("invalid"); inv && inv->is_bool() && inv->get_bool())
        return Problem(422, "validation-failed", "Validation failed", "the record is marked invalid");
    }
    // Every record has a version, its ETag; a write with If-Match that
    // names another (or a record that does not exist) is refused with 412.
    auto with_etag = [this](Response r, const std::string& path) {
      r.headers.emplace_back("ETag", "\"m" + std::to_string(versions_[path]) + "\"");
      return r;
    };
    if (segs.size() == 1 && req.method == "POST") {
      std::string id = segs[0].substr(0, 3) + "_" + std::to_string(++next_id_);
      body["id"] = id;
      std::string path = segs[0] + "/" + id;
      records_[path] = body;
      Bump(path);
      Response r = with_etag(JsonResponse(201, body), path);
      r.headers.emplace_back("Location", "/" + path);
      return r;
    }
    if (segs.size() == 2) {
      std::string path = segs[0] + "/" + segs[1];
      auto it = records_.find(path);
      if (req.method == "GET") {
        if (it == records_.end()) return Problem(404, "not-found", "No such record", path);
        return with_etag(JsonResponse(200, it->second), path);
      }
      if (auto want = FindHeader(req.headers, "If-Match"); want && *want != "*") {
        std::string have = "\"m" + std::to_string(versions_[path]) + "\"";
        if (it == records_.end() || *want != have)
          return Problem(412, "precondition-failed", "The record has changed",
                         "If-Match " + std::string(*want) + " is not the record's current ETag");
      }
      if (req.method == "PUT") {
        body["id"] = segs[1];
        bool created = it == records_.end();
        records_[path] = body;
        Bump(path);
        return with_etag(JsonResponse(created ? 201 : 200, body), path);
      }
      if (req.method == "PATCH") {
        if (it == records_.end()) return Problem(404, "not-found", "No such record", path);
        for (auto& kv : body) it->second[kv.key()] = kv.value();
        Bump(path);
        return with_etag(JsonResponse(200, it->second), path);
      }
      if (req.method == "DELETE") {
        if (it == records_.end()) return Problem(404, "not-found", "No such record", path);
        records_.erase(it);
        Bump(path);
        Response r;
        r.status = 204;
        return r;
      }
    }
    return Problem(404, "not-found", "No such resource", req.method + " " + req.path);
  }

  // A record changed: its version goes up and it moves to the end of the
  // change feed. Caller holds mu_.
  void Bump(const std::string& path) {
    ++versions_[path];
    if (auto it = change_of_.find(path); it != change_of_.end()) changes_.erase(it->second);
    changes_[++change_seq_] = path;
    change_of_[path] = change_seq_;
  }

  // GET /{collection}?updatedSince=CURSOR[&limit=N]: the collection's
  // records changed after CURSOR (0: all), oldest change first, each once
  // in its latest state: {"items": [{"id", "version", "deleted", "data"}],
  // "nextCursor"}; "version" is the record's ETag. A deleted record comes
  // with "deleted": true and no data. nextCursor is the cursor to ask with
  // next (the same one when nothing changed).
  Response Changes(const Request& req) {
    auto q = ParseQuery(req.target);
    int64_t since = 0, limit = 100;
    try {
      since = std::stoll(q["updatedSince"].empty() ? "0" : q["updatedSince"]);
      if (!q["limit"].empty()) limit = std::clamp<int64_t>(std::stoll(q["limit"]), 1, 10'000);
    } catch (const std::exception&) {
      return Problem(400, "invalid-cursor", "Invalid cursor", "updatedSince and limit are integers");
    }
    std::string prefix = req.path.substr(1) + "/";
    std::lock_guard lock(mu_);
    if (fail_feed_) return Problem(503, "injected-error", "Injected failure", "the change feed is down (failFeed)");
    json::array items;
    int64_t next = since;
    for (auto it = changes_.upper_bound(since); it != changes_.end() && static_cast<int64_t>(items.size()) < limit; ++it) {
      next = it->first;
      const std::string& path = it->second;
      if (path.rfind(prefix, 0) != 0) continue;
      json::object item{{"id", path.substr(prefix.size())},
                        {"version", "\"m" + std::to_string(versions_[path]) + "\""}};
      if (auto rec = records_.find(path); rec != records_.end()) {
        item["deleted"] = false;
        item["data"] = rec->second;
      } else {
        item["deleted"] = true;
      }
      items.push_back(std::move(item));
    }
    return JsonResponse(200, {{"items", std::move(items)}, {"nextCursor", std::to_string(next)}});
  }

  // GET /{collection}?after=ID&limit=N: the collection's records with ids
  // after ID, in byte order of their ids: {"items": [{"id", "version",
  // "data"}], "nextAfter"} (what a reconciliation pages).
  Response ListById(const Request& req) {
    auto q = ParseQuery(req.target);
    int64_t limit = 100;
    try {
      if (!q["limit"].empty()) limit = std::clamp<int64_t>(std::stoll(q["limit"]), 1, 10'000);
    } catch (const std::exception&) {
      return Problem(400, "invalid-limit", "Invalid limit", "limit is an integer");
    }
    std::string prefix = req.path.substr(1) + "/";
    std::lock_guard lock(mu_);
    json::array items;
    std::string last;
    for (auto it = records_.upper_bound(prefix + q["after"]);
         it != records_.end() && it->first.rfind(prefix, 0) == 0 && static_cast<int64_t>(items.size()) < limit; ++it) {
      last = it->first.substr(prefix.size());
      items.push_back({{"id", last},
                       {"version", "\"m" + std::to_string(versions_[it->first]) + "\""},
                       {"data", it->second}});
    }
    return JsonResponse(200, {{"items", std::move(items)}, {"nextAfter", last}});
  }

  // POST /_tamper {"collection", "delete": [ids], "change": [ids], "create": [ids]}:
  // changes records the way a master with a broken change feed would: the
  // version moves, the change feed does not ("change" sets "tampered": true;
  // "create" makes {"id", "name"}). For reconciliation tests.
  Response Tamper(const std::string& body) {
    auto v = ParseJsonStrict(body);
    if (!v.ok() || !v->is_object()) return Problem(400, "invalid-body", "Invalid body", "expected a JSON object");
    const auto& o = v->get_object();
    auto* col = o.if_contains("collection");
    if (!col || !col->is_string()) return Problem(400, "invalid-body", "Invalid body", "collection is a string");
    std::string c(col->get_string());
    std::lock_guard lock(mu_);
    int64_t n = 0;
    auto each = [&](const char* what, auto fn) {
      if (auto* ids = o.if_contains(what); ids && ids->is_array())
        for (const auto& id : ids->get_array())
          if (id.is_string()) {
            fn(c + "/" + std::string(id.get_string()), std::string(id.get_string()));
            ++n;
          }
    };
    each("delete", [&](const std::string& path, const std::string&) {
      records_.erase(path);
      ++versions_[path];
    });
    each("change", [&](const std::string& path, const std::string&) {
      if (auto it = records_.find(path); it != records_.end()) it->second["tampered"] = true;
      ++versions_[path];
    });
    each("create", [&](const std::string& path, const std::string& id) {
      records_[path] = json::object{{"id", id}, {"name", "Created behind the feed"}};
      ++versions_[path];
    });
    return JsonResponse(200, {{"tampered", n}});
  }

  // POST /_seed {"collection": "customers", "count": N, "from": 1}: creates
  // (or replaces) records {collection}/{prefix}_{i} = {"id", "name", "balance": i}
  // for i in [from, from + count) at once, without requests of their own:
  // a large collection for loads and reconciliation.
  Response Seed(const std::string& body) {
    auto v = ParseJsonStrict(body);
    if (!v.ok() || !v->is_object()) return Problem(400, "invalid-body", "Invalid body", "expected a JSON object");
    const auto& o = v->get_object();
    auto* col = o.if_contains("collection");
    auto* count = o.if_contains("count");
    if (!col || !col->is_string() || !count || !count->is_int64() || count->get_int64() < 0 ||
        count->get_int64() > 10'000'000)
      return Problem(400, "invalid-body", "Invalid body", "{\"collection\": NAME, \"count\": 0..10000000}");
    int64_t from = 1;
    if (auto* f = o.if_contains("from"); f && f->is_int64()) from = f->get_int64();
    std::string c(col->get_string());
    std::string prefix = c.substr(0, 3);
    std::lock_guard lock(mu_);
    for (int64_t i = from; i < from + count->get_int64(); ++i) {
      std::string id = prefix + "_" + std::to_string(i);
      std::string path = c + "/" + id;
      records_[path] = json::object{{"id", id}, {"name", "Customer " + std::to_string(i)}, {"balance", i}};
      Bump(path);
    }
    next_id_ = std::max(next_id_, from + count->get_int64() - 1);  // POSTs make new ids after these
    return JsonResponse(200, {{"seeded", count->get_int64()}, {"records", static_cast<int64_t>(records_.size())}});
  }

  // Changes fault rates at run time:
  // {"errorRate":0, "dropAfterCommit":0, "errorAfterCommit":0, "hangRate":0, "latencyMs":0,
  //  "failFeed": false}.
  Response SetFaults(const std::string& body) {
    auto v = ParseJsonStrict(body);
    if (!v.ok() || !v->is_object()) return Problem(400, "invalid-body", "Invalid body", "expected a JSON object");
    std::lock_guard lock(mu_);
    const auto& o = v->get_object();
    auto num = [&](const char* k, double& out) {
      if (auto* x = o.if_contains(k); x && x->is_number()) out = x->to_number<double>();
    };
    num("errorRate", opts_.error_rate);
    if (auto* f = o.if_contains("failFeed"); f && f->is_bool()) fail_feed_ = f->get_bool();
    num("dropAfterCommit", opts_.drop_after_commit);
    num("errorAfterCommit", opts_.error_after_commit);
    num("hangRate", opts_.hang_rate);
    double status = opts_.error_status;
    num("errorStatus", status);
    if (status >= 400 && status <= 599) opts_.error_status = static_cast<int>(status);
    double retry_after = static_cast<double>(opts_.retry_after);
    num("retryAfter", retry_after);
    opts_.retry_after = static_cast<int>(retry_after);
    double latency = static_cast<double>(opts_.latency);
    num("latencyMs", latency);
    opts_.latency = static_cast<Millis>(latency);
    return JsonResponse(200, {{"errorRate", opts_.error_rate},
                              {"dropAfterCommit", opts_.drop_after_commit},
                              {"errorAfterCommit", opts_.error_after_commit},
                              {"hangRate", opts_.hang_rate},
                              {"errorStatus", opts_.error_status},
                              {"latencyMs", opts_.latency},
                              {"failFeed", fail_feed_}});
  }

  // Every write request in arrival order: at (ms since the epoch), key,
  // method, path, status answered (before any injected drop), body.
  Response Log() {
    std::lock_guard lock(mu_);
    return JsonResponse(200, {{"requests", log_}, {"truncated", log_.size() >= kMaxLog}});
  }

  // Client-to-master latency of the logged writes whose JSON body carries
  // `sentAt` (ms since the epoch, set by the client: bench/paced_async_submit.lua):
  // how long after the client sent it each write reached the master, through
  // whatever queue stood between. Bulk items and other writes are skipped.
  Response Latency() {
    std::vector<double> ms;
    {
      std::lock_guard lock(mu_);
      for (const auto& e : log_) {
        const auto& o = e.as_object();
        boost::system::error_code ec;
        auto body = json::parse(o.at("body").as_string(), ec);
        if (ec || !body.is_object()) continue;
        const auto* sent = body.as_object().if_contains("sentAt");
        if (!sent || !sent->is_number()) continue;
        ms.push_back(o.at("at").to_number<double>() - sent->to_number<double>());
      }
    }
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) -> json::value {
      if (ms.empty()) return nullptr;
      return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))];
    };
    return JsonResponse(200, {{"count", ms.size()},
                              {"p50Ms", pct(0.50)},
                              {"p90Ms", pct(0.90)},
                              {"p99Ms", pct(0.99)},
                              {"maxMs", ms.empty() ? json::value(nullptr) : json::value(ms.back())}});
  }

  // GET /{collection}?clientRef=KEY: the records that POSTs carrying
  // Idempotency-Key KEY created in the collection, as {"items": [...]}
  // (empty when none): what a probe asks to learn whether a write whose
  // answer was lost was applied.
  Response LookUp(const Request& req) {
    std::string ref = ParseQuery(req.target)["clientRef"];
    std::string prefix = req.path.size() > 1 ? req.path.substr(1) + "/" : "";
    std::lock_guard lock(mu_);
    json::array items;
    if (auto it = paths_by_key_.find(ref); it != paths_by_key_.end())
      for (const auto& path : it->second)
        if (auto rec = records_.find(path); rec != records_.end() && path.rfind(prefix, 0) == 0)
          items.push_back(rec->second);
    return JsonResponse(200, {{"items", std::move(items)}});
  }

  // Per Idempotency-Key: write requests received and side effects applied.
  Response Keys() {
    std::lock_guard lock(mu_);
    json::object out;
    for (const auto& [k, n] : requests_by_key_) {
      auto it = applied_by_key_.find(k);
      out[k] = {{"requests", n}, {"applied", it == applied_by_key_.end() ? 0 : it->second}};
    }
    return JsonResponse(200, out);
  }

  Response Stats() {
    std::lock_guard lock(mu_);
    json::array dups;
    int64_t dup_applies = 0;
    for (const auto& [k, n] : applied_by_key_) {
      if (n > 1) {
        dups.push_back({{"key", k}, {"applied", n}});
        dup_applies += n - 1;
      }
    }
    return JsonResponse(200, {{"requests", requests_},
                              {"applied", applied_},
                              {"records", static_cast<int64_t>(records_.size())},
                              {"keysApplied", static_cast<int64_t>(applied_by_key_.size())},
                              {"duplicateKeys", dups},
                              {"duplicateApplies", dup_applies},
                              {"keyReplays", replays_},
                              {"injectedErrors", errors_},
                              {"droppedAfterCommit", drops_},
                              {"errorsAfterCommit", errors_after_commit_},
                              {"hangs", hangs_},
                              {"bulkRequests", bulk_requests_},
                              {"bulkRefused", bulk_refused_},
                              {"maxConcurrentPerKey", max_concurrent_per_key_},
                              {"honorIdempotencyKey", opts_.honor_idempotency_key}});
  }

  MockMasterOptions opts_;
  Scheduler& sched_;
  std::mutex mu_;
  std::mt19937_64 rng_;
  std::map<std::string, json::object> records_;
  std::map<std::string, int64_t> versions_;  // per record path; kept after a delete
  std::map<int64_t, std::string> changes_;    // the change feed: latest change of each record path
  std::map<std::string, int64_t> change_of_;  // record path -> its entry in changes_
  int64_t change_seq_ = 0;
  bool fail_feed_ = false;  // the change feed answers 503 (reads of records still work)
  std::map<std::string, int64_t> applied_by_key_;
  std::map<std::string, std::vector<std::string>> paths_by_key_;  // records created per key
  std::map<std::string, int64_t> requests_by_key_;
  std::map<std::string, Response> responses_by_key_;
  static constexpr size_t kMaxLog = 200'000;
  json::array log_;
  int64_t requests_ = 0, applied_ = 0, errors_ = 0, drops_ = 0, hangs_ = 0, replays_ = 0, next_id_ = 0;
  int64_t errors_after_commit_ = 0;
  int64_t bulk_requests_ = 0, bulk_refused_ = 0, max_concurrent_per_key_ = 0;
  std::map<std::string, int64_t> in_progress_;
};

}  // namespace

int RunMockMaster(const MockMasterOptions& options) {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  Runtime rt(options.threads);
  MockMaster master(options, rt.scheduler());
  ServerOptions so;
  so.host = options.host;
  so.port = options.port;
  so.max_header_count = 200;
  so.tls.cert = options.tls_cert;
  so.tls.key = options.tls_key;
  auto server = StartServer(
      rt, so, [&master](Request r, std::function<void(Response)> done) { master.Handle(std::move(r), std::move(done)); },
      [](const std::string&, const std::string&) { return uint64_t{64} * 1024 * 1024; });
  if (!server.ok()) {
    std::cerr << "mock-master: " << server.status().message() << "\n";
    return 1;
  }
  rt.Start();
  std::cout << json::serialize(json::object{{"msg", "listening"},
                                            {"service", "mock-master"},
                                            {"host", options.host},
                                            {"port", (*server)->port()},
                                            {"tls", !options.tls_cert.empty()},
                                            {"honorIdempotencyKey", options.honor_idempotency_key}})
            << std::endl;
  int sig = 0;
  sigwait(&sigs, &sig);
  (*server)->Stop();
  rt.Stop();
  rt.Join();
  return 0;
}

}  // namespace writ
