// Hostile input catalogue: each case is sent as raw bytes to a running writ
// and must get its specific answer, store nothing and never reach the master.
// The server must keep serving normal clients throughout.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "http/server.h"
#include "patterns/draft/draft_store.h"
#include "patterns/local_copy/edge_store.h"
#include "patterns/saga/saga_store.h"
#include "testing/cluster.h"

namespace writ::testing {
namespace {

struct Case {
  const char* name;
  std::string bytes;
  int status;  // expected answer; 0: the connection is closed without one
};
// ctest and GoogleTest name a case by its name, not its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const std::string kBody = R"({"amount":10})";

// A well-formed request line and headers; `extra` lines end with \r\n.
std::string Req(const std::string& extra, const std::string& body = kBody, const std::string& target = "/orders",
                const std::string& method = "POST") {
  return method + " " + target + " HTTP/1.1\r\nHost: writ\r\nConnection: close\r\n" + extra + "\r\n" + body;
}
std::string Len(const std::string& body = kBody) { return "Content-Length: " + std::to_string(body.size()) + "\r\n"; }
const std::string kJson = "Content-Type: application/json\r\n";
std::string Keyed(const std::string& key, const std::string& body = kBody) {
  return Req(kJson + "Idempotency-Key: " + key + "\r\n" + Len(body), body);
}

std::string KeyedTo(const std::string& target, const std::string& key, const std::string& body) {
  return Req(kJson + "Idempotency-Key: " + key + "\r\n" + Len(body), body, target);
}

const std::string kNdjson = "Content-Type: application/x-ndjson\r\n";
std::string Bulk(const std::string& headers, const std::string& body, const std::string& media = kNdjson) {
  return Req(media + headers + Len(body), body, "/products/bulk");
}

const std::string kDrafts = "/applications/drafts";
const std::string kVisits = "/visits";  // an edge route whose clients choose ids (/visitId)
const std::string kPrices = "/prices";  // a dual copy of the master's (empty) /prices
const std::string kTrips = "/trips";    // a saga route (two steps that name /input/trip)
// A request to the draft route; `extra` lines end with \r\n.
std::string DraftReq(const std::string& method, const std::string& target, const std::string& extra,
                     const std::string& body = "") {
  return Req(extra + (body.empty() && method == "GET" ? "" : Len(body)), body, target, method);
}

std::vector<Case> Catalogue() {
  std::string deep = std::string(65, '[') + std::string(65, ']');
  std::string deep_object;
  for (int i = 0; i < 70; ++i) deep_object += "{\"a\":";
  deep_object += "1" + std::string(70, '}');
  std::string huge_patch = "[";
  for (int i = 0; i < 1001; ++i) huge_patch += std::string(i ? "," : "") + R"({"op":"add","path":"/x","value":1})";
  huge_patch += "]";
  std::string many_tags;
  for (int i = 0; i < 65; ++i) many_tags += std::string(i ? ", " : "") + "\"" + std::to_string(i + 1) + "\"";
  const std::string merge = "Content-Type: application/merge-patch+json\r\n";
  const std::string jpatch = "Content-Type: application/json-patch+json\r\n";
  const std::string one = kDrafts + "/d_0000";
  std::string many_headers;
  for (int i = 0; i < 150; ++i) many_headers += "X-H" + std::to_string(i) + ": 1\r\n";
  return {
      // Edge records: bodies, ids, patches and preconditions refused before anything is stored.
      {"edge_create_deep_json", DraftReq("POST", kVisits, kJson + "Idempotency-Key: e1\r\n", deep_object), 400},
      {"edge_create_not_an_object", DraftReq("POST", kVisits, kJson + "Idempotency-Key: e2\r\n", "[1]"), 422},
      {"edge_create_without_key", DraftReq("POST", kVisits, kJson, "{}"), 400},
      {"edge_create_with_if_match",
       DraftReq("POST", kVisits, kJson + "Idempotency-Key: e3\r\nIf-Match: \"1\"\r\n", "{}"), 400},
      {"edge_client_id_with_slash",
       DraftReq("POST", kVisits, kJson + "Idempotency-Key: e4\r\n", R"({"visitId":"../x"})"), 422},
      {"edge_client_id_not_a_string", DraftReq("POST", kVisits, kJson + "Idempotency-Key: e5\r\n", R"({"visitId":7})"),
       422},
      {"edge_client_id_too_long",
       DraftReq("POST", kVisits, kJson + "Idempotency-Key: e6\r\n", "{\"visitId\":\"" + std::string(129, 'a') + "\"}"),
       422},
      {"edge_update_unknown_record", DraftReq("PUT", kVisits + "/tmp_nope", kJson, "{}"), 404},
      {"edge_patch_wrong_media_type", DraftReq("PATCH", kVisits + "/tmp_nope", kJson, "{}"), 415},
      {"edge_deep_merge_patch", DraftReq("PATCH", kVisits + "/tmp_nope", merge, deep_object), 400},
      {"edge_if_match_garbage", DraftReq("PUT", kVisits + "/tmp_nope", kJson + "If-Match: nope\r\n", "{}"), 400},
      {"edge_delete_unknown_record", DraftReq("DELETE", kVisits + "/tmp_nope", ""), 404},
      {"edge_list_bad_status", DraftReq("GET", kVisits + "?syncStatus=%00", ""), 400},
      {"edge_list_unknown_parameter", DraftReq("GET", kVisits + "?tenant=acme", ""), 400},
      {"edge_list_huge_limit", DraftReq("GET", kVisits + "?limit=100000", ""), 400},
      // Dual copies: writes, reads and lists refused before the copy or its sync queue changes.
      {"copy_create_deep_json", DraftReq("POST", kPrices, kJson + "Idempotency-Key: c1\r\n", deep_object), 400},
      {"copy_create_not_an_object", DraftReq("POST", kPrices, kJson + "Idempotency-Key: c2\r\n", "[1]"), 422},
      {"copy_update_unknown_record", DraftReq("PUT", kPrices + "/p_nope", kJson, "{}"), 404},
      {"copy_if_match_garbage", DraftReq("PUT", kPrices + "/p_nope", kJson + "If-Match: nope\r\n", "{}"), 400},
      {"copy_patch_wrong_media_type", DraftReq("PATCH", kPrices + "/p_nope", kJson, "{}"), 415},
      {"copy_delete_unknown_record", DraftReq("DELETE", kPrices + "/p_nope", ""), 404},
      {"copy_read_unknown_record", DraftReq("GET", kPrices + "/p_nope", ""), 404},
      {"copy_list_unknown_parameter", DraftReq("GET", kPrices + "?updatedSince=0", ""), 400},
      {"copy_list_huge_limit", DraftReq("GET", kPrices + "?limit=100000", ""), 400},
      // Drafts: bodies, patches and preconditions refused before anything is read or stored.
      {"draft_create_deep_json", DraftReq("POST", kDrafts, kJson, deep_object), 400},
      {"draft_create_not_an_object", DraftReq("POST", kDrafts, kJson, "[1,2,3]"), 422},
      {"draft_create_with_if_match", DraftReq("POST", kDrafts, kJson + "If-Match: \"1\"\r\n", "{}"), 400},
      {"draft_huge_json_patch", DraftReq("PATCH", one, jpatch + "If-Match: \"1\"\r\n", huge_patch), 422},
      {"draft_json_patch_not_an_array", DraftReq("PATCH", one, jpatch + "If-Match: \"1\"\r\n", R"({"op":"add"})"), 422},
      {"draft_deep_merge_patch", DraftReq("PATCH", one, merge + "If-Match: \"1\"\r\n", deep_object), 400},
      {"draft_patch_wrong_media_type", DraftReq("PATCH", one, kJson + "If-Match: \"1\"\r\n", "{}"), 415},
      {"draft_save_without_if_match", DraftReq("PUT", one, kJson, "{}"), 428},
      {"draft_if_match_unquoted", DraftReq("PUT", one, kJson + "If-Match: 1\r\n", "{}"), 400},
      {"draft_if_match_unterminated", DraftReq("PUT", one, kJson + "If-Match: \"1\r\n", "{}"), 400},
      {"draft_if_match_trailing_comma", DraftReq("PUT", one, kJson + "If-Match: \"1\",\r\n", "{}"), 400},
      {"draft_if_match_weak_prefix_garbage", DraftReq("PUT", one, kJson + "If-Match: W/1\r\n", "{}"), 400},
      {"draft_if_match_too_many_tags", DraftReq("PUT", one, kJson + "If-Match: " + many_tags + "\r\n", "{}"), 400},
      {"draft_if_match_twice", DraftReq("PUT", one, kJson + "If-Match: \"1\"\r\nIf-Match: \"1\"\r\n", "{}"), 400},
      {"draft_if_none_match_garbage", DraftReq("GET", one, "If-None-Match: abc\r\n"), 400},
      {"draft_submit_without_key", DraftReq("POST", one + "/submit", "If-Match: \"1\"\r\n"), 400},
      {"draft_submit_without_if_match", DraftReq("POST", one + "/submit", "Idempotency-Key: k\r\n"), 428},
      {"draft_list_bad_status", DraftReq("GET", kDrafts + "?status=%00", ""), 400},
      {"draft_unknown_draft", DraftReq("GET", one, ""), 404},
      // Framing and request smuggling.
      {"content_length_with_transfer_encoding",
       Req(kJson + "Idempotency-Key: s1\r\n" + Len() + "Transfer-Encoding: chunked\r\n",
           "d\r\n" + kBody + "\r\n0\r\n\r\n"),
       400},
      {"duplicate_content_length_differing",
       Req(kJson + "Idempotency-Key: s2\r\nContent-Length: 13\r\nContent-Length: 12\r\n"), 400},
      {"duplicate_content_length_same",
       Req(kJson + "Idempotency-Key: s3\r\nContent-Length: 13\r\nContent-Length: 13\r\n"), 400},
      {"content_length_not_a_number", Req(kJson + "Idempotency-Key: s4\r\nContent-Length: 1x\r\n"), 400},
      {"content_length_negative", Req(kJson + "Idempotency-Key: s5\r\nContent-Length: -13\r\n"), 400},
      {"content_length_list", Req(kJson + "Idempotency-Key: s6\r\nContent-Length: 13, 13\r\n"), 400},
      {"chunked_trailer_fields",  // Beast would add them to the headers after the head's checks
       Req(kJson + "Idempotency-Key: s13\r\nTransfer-Encoding: chunked\r\n",
           "d\r\n" + kBody + "\r\n0\r\nAuthorization: Bearer smuggled\r\n\r\n"),
       400},
      {"bad_chunk_size",
       Req(kJson + "Idempotency-Key: s7\r\nTransfer-Encoding: chunked\r\n", "zz\r\n" + kBody + "\r\n0\r\n\r\n"), 400},
      {"chunk_size_overflow",
       Req(kJson + "Idempotency-Key: s8\r\nTransfer-Encoding: chunked\r\n", "fffffffffffffffffff\r\nx\r\n0\r\n\r\n"),
       400},
      {"transfer_encoding_not_chunked_last", Req(kJson + "Idempotency-Key: s9\r\nTransfer-Encoding: chunked, gzip\r\n"),
       400},
      {"header_without_colon", Req(kJson + "Idempotency-Key s10\r\n" + Len()), 400},
      {"space_before_colon", Req(kJson + "Idempotency-Key : s11\r\n" + Len()), 400},
      {"bad_header_name", Req(kJson + "Bad(Name): 1\r\nIdempotency-Key: s12\r\n" + Len()), 400},
      {"nul_in_header_value", Req(kJson + std::string("Idempotency-Key: a\0b\r\n", 22) + Len()), 400},
      // Folded lines (obs-fold): Beast would join them; Writ refuses them.
      {"obs_fold_idempotency_key", Req(kJson + "Idempotency-Key: f1\r\n f2\r\n" + Len()), 400},
      {"obs_fold_tab_authorization",
       Req(kJson + "Authorization: Bearer\r\n\twrit_x\r\nIdempotency-Key: f3\r\n" + Len()), 400},
      {"obs_fold_first_field",
       "POST /orders HTTP/1.1\r\n Host: writ\r\n" + kJson + "Idempotency-Key: f4\r\n" + Len() + "\r\n" + kBody, 400},
      {"bad_method_token", "PO ST /orders HTTP/1.1\r\nHost: writ\r\n\r\n", 400},
      {"bad_version", "POST /orders HTTP/9.9\r\nHost: writ\r\n\r\n", 400},
      {"http09_request_line", "POST /orders\r\n\r\n", 400},
      {"garbage", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 400},
      // Sizes.
      {"headers_too_large", Req("X-Big: " + std::string(20'000, 'a') + "\r\n" + kJson + Len()), 431},
      {"too_many_headers", Req(many_headers + kJson + Len()), 431},
      {"uri_too_long", Req(kJson + Len(), kBody, "/orders?" + std::string(9'000, 'q')), 414},
      {"body_over_route_limit_by_length", Req(kJson + "Idempotency-Key: b1\r\nContent-Length: 2000000\r\n", "{"), 413},
      {"chunked_body_over_route_limit",
       Req(kJson + "Idempotency-Key: b2\r\nTransfer-Encoding: chunked\r\n",
           "100000\r\n" + std::string(0x100000, ' ') + "\r\n100000\r\n" + std::string(0x100000, ' ') + "\r\n0\r\n\r\n"),
       413},
      // Host.
      {"missing_host", "POST /orders HTTP/1.1\r\nConnection: close\r\n" + kJson + Len() + "\r\n" + kBody, 400},
      {"duplicate_host", Req("Host: other\r\n" + kJson + Len()), 400},
      // Idempotency keys.
      {"key_missing", Req(kJson + Len()), 400},
      {"key_empty", Keyed(""), 400},
      {"key_too_long", Keyed(std::string(256, 'k')), 400},
      {"key_control_character", Keyed("a\x01z"), 400},
      {"key_tab_inside", Keyed("a\tz"), 400},
      {"key_non_ascii", Keyed("caf\xc3\xa9"), 400},
      {"key_sent_twice", Req(kJson + "Idempotency-Key: a\r\nIdempotency-Key: b\r\n" + Len()), 400},
      {"key_unterminated_quote", Keyed("\"open"), 400},
      {"key_bad_escape", Keyed("\"a\\qb\""), 400},
      // JSON bodies.
      {"json_truncated", Keyed("j1", R"({"amount":)"), 400},
      {"json_bad_utf8", Keyed("j2", "{\"name\":\"\xff\xfe\"}"), 400},
      {"json_lone_surrogate", Keyed("j3", R"({"name":"\ud800"})"), 400},
      {"json_too_deep", Keyed("j4", deep), 400},
      {"json_trailing_bytes", Keyed("j5", R"({"a":1} {"b":2})"), 400},
      {"json_duplicate_member", Keyed("j6", R"({"amount":1,"amount":1000})"), 400},
      {"json_single_quotes", Keyed("j7", "{'a':1}"), 400},
      {"json_comment", Keyed("j8", "{\"a\":1 /* hi */}"), 400},
      // Media type, method, route.
      {"wrong_content_type", Req("Content-Type: text/plain\r\nIdempotency-Key: m1\r\n" + Len()), 415},
      {"missing_content_type", Req("Idempotency-Key: m2\r\n" + Len()), 415},
      {"wrong_method", Req(kJson + "Idempotency-Key: m3\r\n" + Len(), kBody, "/orders", "PATCH"), 405},
      {"get_on_write_route", Req("", "", "/orders", "GET"), 405},
      {"unknown_route", Req(kJson + "Idempotency-Key: m4\r\n" + Len(), kBody, "/nowhere"), 404},
      {"path_traversal", Req(kJson + "Idempotency-Key: m5\r\n" + Len(), kBody, "/orders/../admin"), 404},
      // Async route (schema: amount must be a number; ordering key /accountId).
      {"async_schema_violation", KeyedTo("/payments", "a1", R"({"accountId":"x","amount":"ten"})"), 422},
      {"async_ordering_key_missing", KeyedTo("/payments", "a2", R"({"amount":1})"), 422},
      {"async_ordering_key_null", KeyedTo("/payments", "a3", R"({"accountId":null,"amount":1})"), 422},
      {"async_ordering_key_too_long",
       KeyedTo("/payments", "a4", R"({"accountId":")" + std::string(300, 'x') + R"(","amount":1})"), 422},
      {"async_not_json", KeyedTo("/payments", "a5", "amount=1"), 400},
      {"async_wrong_content_type",
       Req("Content-Type: text/plain\r\nIdempotency-Key: a6\r\n" + Len(), kBody, "/payments"), 415},
      {"async_key_missing", Req(kJson + Len(), kBody, "/payments"), 400},
      // Submissions API.
      {"submissions_unknown_status", Req("", "", "/v1/submissions?status=nope", "GET"), 400},
      {"submissions_unknown_parameter", Req("", "", "/v1/submissions?sort=desc", "GET"), 400},
      {"submissions_limit_too_large", Req("", "", "/v1/submissions?limit=100000", "GET"), 400},
      {"submissions_cursor_not_a_number", Req("", "", "/v1/submissions?cursor=1;DROP%20TABLE", "GET"), 400},
      {"submissions_key_without_route", Req("", "", "/v1/submissions?key=a1", "GET"), 400},
      {"submissions_unknown_route", Req("", "", "/v1/submissions?route=nope", "GET"), 400},
      {"submissions_bad_wait", Req("", "", "/v1/submissions/sub_x?wait=soon", "GET"), 400},
      {"submissions_sql_in_id", Req("", "", "/v1/submissions/sub_'%20OR%201=1", "GET"), 404},
      {"submissions_unknown_id", Req("", "", "/v1/submissions/sub_0000", "GET"), 404},
      {"submissions_unknown_action", Req("", "", "/v1/submissions/sub_0000/delete", "POST"), 404},
      {"submissions_post_list", Req(kJson + Len(), kBody, "/v1/submissions"), 405},
      {"submissions_get_retry", Req("", "", "/v1/submissions/sub_0000/retry", "GET"), 405},
      {"submissions_retry_unknown", Req("", "", "/v1/submissions/sub_0000/retry", "POST"), 404},
      // Buffered route (item_key /sku, max_items 5): nothing is queued for any of these.
      {"bulk_wrong_content_type", Bulk("", "{\"sku\":\"a\"}\n", "Content-Type: text/csv\r\n"), 415},
      {"bulk_empty", Bulk("", ""), 400},
      {"bulk_blank_lines_only", Bulk("", "\n  \r\n\t\n"), 400},
      {"bulk_json_not_an_array", Bulk("", R"({"sku":"a"})", kJson), 400},
      {"bulk_json_array_broken", Bulk("", R"([{"sku":"a"},)", kJson), 400},
      {"bulk_too_many_items",
       Bulk("", "{\"sku\":1}\n{\"sku\":2}\n{\"sku\":3}\n{\"sku\":4}\n{\"sku\":5}\n{\"sku\":6}\n"), 413},
      {"bulk_every_item_invalid", Bulk("", "{bad\n{\"name\":\"no sku\"}\n[1]\n"), 422},
      {"bulk_item_key_too_long", Bulk("", "{\"sku\":\"" + std::string(300, 'k') + "\"}\n"), 422},
      {"bulk_item_key_an_object", Bulk("", "{\"sku\":{\"a\":1}}\n"), 422},
      {"bulk_item_lone_surrogate", Bulk("", "{\"sku\":\"\\ud800\"}\n"), 422},
      {"bulk_producer_id_without_seq", Bulk("Producer-Id: p1\r\n", "{\"sku\":\"a\"}\n"), 400},
      {"bulk_producer_seq_negative", Bulk("Producer-Id: p1\r\nProducer-Seq: -1\r\n", "{\"sku\":\"a\"}\n"), 400},
      {"bulk_producer_seq_huge", Bulk("Producer-Id: p1\r\nProducer-Seq: 99999999999999999999\r\n", "{\"sku\":\"a\"}\n"),
       400},
      {"bulk_producer_id_bad_characters", Bulk("Producer-Id: p'1;--\r\nProducer-Seq: 1\r\n", "{\"sku\":\"a\"}\n"), 400},
      {"bulk_producer_sent_twice",
       Bulk("Producer-Id: p1\r\nProducer-Id: p2\r\nProducer-Seq: 1\r\n", "{\"sku\":\"a\"}\n"), 400},
      {"bulk_key_sent_twice", Bulk("Idempotency-Key: b1\r\nIdempotency-Key: b2\r\n", "{\"sku\":\"a\"}\n"), 400},
      {"bulk_get", Req("", "", "/products/bulk", "GET"), 405},
      // Jobs API.
      {"jobs_unknown_id", Req("", "", "/v1/jobs/job_0000", "GET"), 404},
      {"jobs_sql_in_id", Req("", "", "/v1/jobs/job_'%20OR%201=1", "GET"), 404},
      {"jobs_unknown_parameter", Req("", "", "/v1/jobs?sort=desc", "GET"), 400},
      {"jobs_limit_zero", Req("", "", "/v1/jobs?limit=0", "GET"), 400},
      {"jobs_unknown_route", Req("", "", "/v1/jobs?route=nope", "GET"), 400},
      {"jobs_cursor_not_a_number", Req("", "", "/v1/jobs?cursor=abc", "GET"), 400},
      {"jobs_post_list", Req(kJson + Len(), kBody, "/v1/jobs"), 405},
      {"jobs_get_replay", Req("", "", "/v1/jobs/job_0000/replay", "GET"), 405},
      {"jobs_replay_unknown", Req("", "", "/v1/jobs/job_0000/replay", "POST"), 404},
      {"jobs_items_unknown_job", Req("", "", "/v1/jobs/job_0000/items", "GET"), 404},
      {"jobs_unknown_action", Req("", "", "/v1/jobs/job_0000/delete", "POST"), 404},
      // Saga route: no saga is started for any of these.
      {"saga_deep_json", KeyedTo(kTrips, "s1", deep_object), 400},
      {"saga_input_not_an_object", KeyedTo(kTrips, "s2", "[1]"), 422},
      {"saga_input_incomplete", KeyedTo(kTrips, "s3", R"({"from":"OSL"})"), 422},
      {"saga_input_against_schema", KeyedTo(kTrips, "s4", R"({"trip":7})"), 422},
      {"saga_without_key", Req(kJson + Len("{}"), "{}", kTrips), 400},
      {"saga_unknown", Req("", "", "/v1/sagas/saga_nope", "GET"), 404},
      {"saga_events_unknown", Req("", "", "/v1/sagas/saga_nope/events", "GET"), 404},
      {"saga_cancel_unknown", Req("", "", "/v1/sagas/saga_nope/cancel", "POST"), 404},
      {"saga_id_traversal", Req("", "", "/v1/sagas/..%2F..%2Fv1%2Froutes", "GET"), 404},
      {"saga_list_bad_status", Req("", "", "/v1/sagas?status=%00", "GET"), 400},
      {"saga_list_huge_limit", Req("", "", "/v1/sagas?limit=100000", "GET"), 400},
      {"routes_unknown", Req("", "", "/v1/routes/nope/pause", "POST"), 404},
      {"routes_get_pause", Req("", "", "/v1/routes/bulk/pause", "GET"), 405},
      {"routes_unknown_action", Req("", "", "/v1/routes/bulk/drop", "POST"), 404},
  };
}

class HostileTest : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    master_ = new MockMasterProcess();
    master_->Start(dir_->path());
    writ_ = new WritProcess();
    // The catalogue probes the operator APIs themselves: on the one listener.
    writ_->set_server_extra("header_timeout: 2s\nadmin_listen: off");
    std::ofstream(dir_->path() + "/payment.json") << R"({"type":"object","properties":{"amount":{"type":"number"}}})";
    RouteOptions async;
    async.path = "/payments";
    async.mode = "async";
    async.extra = "validate: " + dir_->path() + "/payment.json\nasync:\n  ordering_key: /accountId\n  lease: 5s\n";
    RouteOptions bulk;
    bulk.path = "/products/bulk";
    bulk.mode = "buffered";
    bulk.extra =
        "name: bulk\nbuffered:\n  item_key: /sku\n  max_items: 5\n  bulk_path: /products/_bulk\n"
        "async:\n  lease: 5s\n";
    RouteOptions drafts;
    drafts.method = "";
    drafts.path = kDrafts;
    drafts.mode = "draft";
    drafts.extra = "upstream_path: /applications\n";
    RouteOptions visits;
    visits.method = "";
    visits.path = kVisits;
    visits.mode = "edge";
    visits.extra = "edge: {client_id: /visitId}\nasync: {lease: 5s}\n";
    RouteOptions prices;
    prices.method = "";
    prices.path = kPrices;
    prices.mode = "dual-copy";
    prices.extra =
        "copy: {refresh: {path: \"/prices?updatedSince={cursor}&limit=100\", interval: 1s, data: /data}}\n"
        "async: {lease: 5s}\n";
    std::ofstream(dir_->path() + "/trip.json") << R"({"type":"object","properties":{"trip":{"type":"string"}}})";
    RouteOptions trips;
    trips.path = kTrips;
    trips.mode = "saga";
    trips.extra = "validate: " + dir_->path() +
                  "/trip.json\nasync: {lease: 5s}\nsaga:\n  steps:\n"
                  "    - {name: flight, path: /flights, body: {trip: '{{/input/trip}}'},\n"
                  "       compensate: {path: '/flights/{{/steps/flight/body/id}}'}}\n"
                  "    - {name: hotel, path: '/hotels/{{/input/trip}}', method: PUT}\n";
    writ_->Start(dir_->path(), master_->port(), {RouteOptions{}, async, bulk, drafts, visits, prices, trips});
  }
  static void TearDownTestSuite() {
    delete writ_;
    delete master_;
    delete dir_;
  }
  // How many sagas are stored.
  static size_t Sagas() {
    auto store = OpenStoreReadOnly(writ_->db_path());
    auto sagas = SagaStore(store->db()).List("", std::nullopt, 1000);
    EXPECT_TRUE(sagas.ok()) << sagas.status().message();
    return sagas.ok() ? sagas->size() : 0;
  }
  // Every draft's id and version, as stored.
  static std::string Drafts() {
    auto store = OpenStoreReadOnly(writ_->db_path());
    DraftFilter f;
    f.limit = 1000;
    std::string out;
    auto drafts = DraftStore(store->db()).List(f);  // kept: value() refers into it
    EXPECT_TRUE(drafts.ok()) << drafts.status().message();
    if (drafts.ok())
      for (const auto& d : *drafts) out += d.id + "@" + std::to_string(d.version) + " ";
    return out;
  }
  // Every edge record's id and version, as stored (a dual copy's records are edge records).
  static std::string Visits(const std::string& route = kVisits) {
    auto store = OpenStoreReadOnly(writ_->db_path());
    EdgeFilter f;
    f.tenant = "default";
    f.route = route;
    f.limit = 1000;
    std::string out;
    auto records = EdgeStore(store->db()).List(f);
    EXPECT_TRUE(records.ok()) << records.status().message();
    if (records.ok())
      for (const auto& r : *records) out += r.id + "@" + std::to_string(r.version) + " ";
    return out;
  }
  static TempDir* dir_;
  static MockMasterProcess* master_;
  static WritProcess* writ_;
};
TempDir* HostileTest::dir_ = nullptr;
MockMasterProcess* HostileTest::master_ = nullptr;
WritProcess* HostileTest::writ_ = nullptr;

TEST_P(HostileTest, RefusedPreciselyAndNothingChanges) {
  const Case& c = GetParam();
  auto before = CountKeys(writ_->db_path());
  auto jobs_before = OpenStoreReadOnly(writ_->db_path())->jobs().ListJobs({}).value().size();
  auto drafts_before = Drafts();
  auto visits_before = Visits();
  auto prices_before = Visits(kPrices);
  auto r = RawRequest(writ_->port(), c.bytes);
  EXPECT_EQ(r.status, c.status) << r.response.substr(0, 400);
  EXPECT_TRUE(r.closed) << "a refused request ends its connection";
  if (c.status >= 400) {
    EXPECT_NE(r.response.find("application/problem+json"), std::string::npos) << r.response.substr(0, 400);
  }
  auto after = CountKeys(writ_->db_path());
  EXPECT_EQ(after.completed, before.completed);
  EXPECT_EQ(after.in_flight, before.in_flight);
  EXPECT_EQ(after.unknown, before.unknown);
  EXPECT_EQ(OpenStoreReadOnly(writ_->db_path())->jobs().ListJobs({}).value().size(), jobs_before);
  EXPECT_EQ(OpenStoreReadOnly(writ_->db_path())->jobs().GetBuffer("bulk").value().pending, 0);
  EXPECT_EQ(Drafts(), drafts_before) << "no draft created or changed";
  EXPECT_EQ(Visits(), visits_before) << "no edge record created or changed";
  EXPECT_EQ(Visits(kPrices), prices_before) << "the dual copy unchanged";
  EXPECT_EQ(Sagas(), 0u) << "no saga started";
  EXPECT_EQ(master_->Stat("requests"), 0) << "nothing reached the master";
  // A normal client is still served (its request is then undone from the counts' view
  // by using a unique key per case; the master count is checked before it).
  auto ok = Call(writ_->port(), "GET", "/healthz");
  EXPECT_EQ(ok.status, 200);
}

INSTANTIATE_TEST_SUITE_P(Catalogue, HostileTest, ::testing::ValuesIn(Catalogue()),
                         [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

// The socket-free parser the fuzz target drives (tests/fuzz/http_fuzz.cpp)
// must refuse exactly what the running server refuses before routing.
TEST(Hostile, TheFuzzedParserAgreesWithTheServer) {
  ServerOptions o;  // the server's defaults, as WritProcess runs it
  int refused = 0;
  for (const auto& c : Catalogue()) {
    auto r = ParseRequestBytes(c.bytes, o, 1024 * 1024);
    if (r.status > 0) {
      EXPECT_EQ(r.status, c.status) << c.name;
      ++refused;
    } else if (r.status == 0) {
      EXPECT_NE(c.status, 431) << c.name;
      EXPECT_NE(c.status, 414) << c.name;
    }
  }
  EXPECT_GE(refused, 20) << "the catalogue's framing and size cases are refused by the parser itself";
}

TEST(Hostile, SqlMetacharactersAreStoredVerbatimAndHarmless) {
  TempDir dir;
  MockMasterProcess master;
  master.Start(dir.path());
  WritProcess writ;
  writ.Start(dir.path(), master.port());
  std::string key = "'); DROP TABLE idem_keys; --";
  std::string body = R"({"name":"Robert'); DROP TABLE orders;--","note":"\" OR 1=1"})";
  auto r = PostJson(writ.port(), "/orders", key, body);
  ASSERT_EQ(r.status, 201) << r.body;
  auto again = PostJson(writ.port(), "/orders", key, body);
  EXPECT_EQ(*FindHeader(again.headers, "Idempotent-Replayed"), "true");
  EXPECT_EQ(again.body, r.body);
  auto rec = OpenStoreReadOnly(writ.db_path())->keys().Lookup({"default", "POST /orders", key});
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->id.key, key);
  EXPECT_EQ(CountKeys(writ.db_path()).completed, 1);
}

}  // namespace
}  // namespace writ::testing

namespace writ::testing {
namespace {

// Patches of an existing draft whose paths leave the document, or that would
// make it something other than an object: refused with the operation's
// index, and the draft keeps its version and data.
TEST(Hostile, DraftPatchesOutsideTheDocumentChangeNothing) {
  TempDir dir;
  MockMasterProcess master;
  master.Start(dir.path());
  RouteOptions drafts;
  drafts.method = "";
  drafts.path = kDrafts;
  drafts.mode = "draft";
  drafts.extra = "upstream_path: /applications\n";
  WritProcess writ;
  writ.Start(dir.path(), master.port(), {drafts});
  auto c = Call(writ.port(), "POST", kDrafts, R"({"a":{"b":[1,2]}})", {{"Content-Type", "application/json"}});
  ASSERT_EQ(c.status, 201);
  std::string url = kDrafts + "/" + std::string(ParseBody(c).as_object()["draftId"].as_string());
  struct PatchCase {
    const char* patch;
    int status;
  };
  for (const auto& p : std::vector<PatchCase>{
           {R"([{"op":"remove","path":"/nope"}])", 409},
           {R"([{"op":"replace","path":"/a/zz/deeper","value":1}])", 409},
           {R"([{"op":"add","path":"/a/b/7","value":1}])", 409},
           {R"([{"op":"remove","path":"/a/b/-"}])", 409},
           {R"([{"op":"move","from":"/nope","path":"/x"}])", 409},
           {R"([{"op":"copy","from":"/a/b/9","path":"/x"}])", 409},
           {R"([{"op":"add","path":"a","value":1}])", 422},
           {R"([{"op":"add","path":"/x"}])", 422},
           {R"([{"op":"jump","path":"/x"}])", 422},
           {R"([{"op":"replace","path":"","value":[1]}])", 422},
           {R"([{"op":"add","path":"/ok","value":1},{"op":"remove","path":"/missing"}])", 409},
       }) {
    auto r = Call(writ.port(), "PATCH", url, p.patch,
                  {{"Content-Type", "application/json-patch+json"}, {"If-Match", "\"1\""}});
    EXPECT_EQ(r.status, p.status) << p.patch << " -> " << r.body;
    EXPECT_FALSE(ProblemType(r).empty()) << p.patch << " -> " << r.body;
    if (r.status == 409) {
      EXPECT_TRUE(ParseBody(r).as_object().contains("operation")) << p.patch << " -> " << r.body;
    }
  }
  auto merge_to_array =
      Call(writ.port(), "PATCH", url, "[1]", {{"Content-Type", "application/merge-patch+json"}, {"If-Match", "\"1\""}});
  EXPECT_EQ(merge_to_array.status, 422) << "a merge patch that is not an object replaces the document";
  auto g = Call(writ.port(), "GET", url);
  EXPECT_EQ(*FindHeader(g.headers, "ETag"), "\"1\"");
  EXPECT_EQ(boost::json::serialize(ParseBody(g).as_object()["data"]), R"({"a":{"b":[1,2]}})");
  EXPECT_EQ(master.Stat("requests"), 0);
}

}  // namespace
}  // namespace writ::testing
