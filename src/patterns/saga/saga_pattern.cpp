// mode: saga in the pattern registry: the `saga:`, `async:`, `notify:` and
// `validate:` keys, the route, and the saga store's schema (version 17).
#include <set>

#include <yaml-cpp/yaml.h>
#include <boost/json.hpp>

#include "config/reader.h"
#include "core/json.h"
#include "patterns/registry.h"
#include "patterns/saga/saga_config.h"
#include "patterns/saga/saga_route.h"
#include "patterns/saga/saga_store.h"

namespace writ {

namespace json = boost::json;

namespace {

// A YAML value as JSON: maps and sequences as they are; a plain scalar that
// reads as a JSON number, true, false or null is one, any other scalar (and
// every quoted one) a string.
json::value YamlJson(const YAML::Node& n) {
  if (n.IsMap()) {
    json::object o;
    for (const auto& kv : n) o[kv.first.as<std::string>()] = YamlJson(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    json::array a;
    for (const auto& x : n) a.push_back(YamlJson(x));
    return a;
  }
  if (!n.IsScalar()) return nullptr;
  std::string s = n.Scalar();
  if (n.Tag() != "!") {
    auto v = ParseJsonStrict(s);
    if (v.ok() && !v->is_object() && !v->is_array() && !v->is_string()) return *v;
  }
  return json::value(json::string(s));
}

bool ReadRequest(Reader& r, const YAML::Node& n, const std::string& what, SagaRequestDef& out,
                 const std::set<std::string>& extra) {
  std::set<std::string> keys = {"method", "path", "body"};
  keys.insert(extra.begin(), extra.end());
  if (!r.CheckMap(n, what, keys)) return false;
  r.Str(n, "method", out.method);
  if (out.method != "POST" && out.method != "PUT" && out.method != "PATCH" && out.method != "DELETE")
    r.Error(n["method"], "'" + what + ".method' must be POST, PUT, PATCH or DELETE");
  std::string path;
  r.Str(n, "path", path);
  if (path.empty() || path[0] != '/') {
    r.Error(n["path"] ? n["path"] : n,
            "'" + what + ".path' is the master's path, e.g. /flights/{{/steps/flight/body/id}}");
    return false;
  }
  auto t = SagaTemplate::Parse(path);
  if (!t.ok()) {
    r.Error(n["path"], t.status().message());
    return false;
  }
  out.path = std::move(*t);
  if (auto b = n["body"]) {
    json::value v;
    if (b.IsScalar()) {  // a JSON text
      auto parsed = ParseJsonStrict(b.Scalar());
      if (!parsed.ok()) {
        r.Error(b, "'" + what + ".body' is a mapping or a JSON text: " + parsed.status().message());
        return false;
      }
      v = std::move(*parsed);
    } else {
      v = YamlJson(b);
    }
    auto bt = SagaBodyTemplate::Parse(v);
    if (!bt.ok()) {
      r.Error(b, bt.status().message());
      return false;
    }
    out.body = std::move(*bt);
  }
  return true;
}

// Every pointer names the input or a step before `step` (or, in a
// compensation, the step itself).
void CheckPointers(Reader& r, const YAML::Node& at, const std::vector<std::string>& pointers,
                   const std::set<std::string>& earlier, const std::string& what) {
  for (const auto& p : pointers) {
    if (p == "/input" || p.rfind("/input/", 0) == 0) continue;
    if (p.rfind("/steps/", 0) == 0) {
      std::string rest = p.substr(7);
      std::string name = rest.substr(0, rest.find('/'));
      if (earlier.count(name)) continue;
      r.Error(at, "'" + p + "' in " + what + " names step '" + name + "', which has not run by then");
      continue;
    }
    r.Error(at, "'" + p + "' in " + what + " names neither /input nor /steps/NAME");
  }
}

void ReadSaga(ModeContext& ctx, const YAML::Node& n, SagaSettings& s) {
  Reader& r = ctx.reader;
  if (!r.CheckMap(n, "saga", {"steps", "compensation_retry"})) return;
  r.Duration(n, "compensation_retry", s.again_delay);
  if (n["compensation_retry"] && s.again_delay < 100)
    r.Error(n["compensation_retry"], "'compensation_retry' must be at least 100ms");
  auto steps = n["steps"];
  if (!steps || !steps.IsSequence() || steps.size() == 0) {
    r.Error(steps ? steps : n, "a saga needs 'steps': a list of {name, method, path, body, compensate}");
    return;
  }
  std::set<std::string> names;
  int pivots = 0;
  for (const auto& st : steps) {
    SagaStepDef d;
    if (!st.IsMap()) {
      r.Error(st, "a saga step is a mapping: {name, upstream, method, path, body, compensate, pivot}");
      continue;
    }
    r.Str(st, "name", d.name);
    if (d.name.empty() || d.name.find_first_of("/~{} ") != std::string::npos) {
      r.Error(st["name"] ? st["name"] : st, "a step's 'name' is a word (no '/', '~', braces or spaces)");
      continue;
    }
    if (names.count(d.name)) r.Error(st["name"], "two steps are named '" + d.name + "'");
    if (!ReadRequest(r, st, "steps[" + d.name + "]", d.request, {"name", "upstream", "compensate", "pivot"}))
      continue;
    r.Str(st, "upstream", d.upstream);
    if (!d.upstream.empty() && ctx.upstreams && !ctx.FindUpstream(d.upstream))
      r.Error(st["upstream"], "step '" + d.name + "' names unknown upstream '" + d.upstream + "'");
    if (d.upstream == ctx.route.upstream) d.upstream.clear();  // the route's own
    CheckPointers(r, st, d.request.pointers(), names, "step '" + d.name + "'");
    r.Bool(st, "pivot", d.pivot);
    pivots += d.pivot;
    if (auto c = st["compensate"]) {
      SagaRequestDef comp;
      comp.method = "DELETE";
      if (ReadRequest(r, c, "steps[" + d.name + "].compensate", comp, {})) {
        auto with_self = names;
        with_self.insert(d.name);
        CheckPointers(r, c, comp.pointers(), with_self, "the compensation of '" + d.name + "'");
        d.compensate = std::move(comp);
      }
    }
    names.insert(d.name);
    s.def.steps.push_back(std::move(d));
  }
  if (pivots > 1) r.Error(steps, "a saga has at most one pivot (the point of no return)");
}

}  // namespace

ModeSpec SagaSpec() {
  ModeSpec m;
  m.name = "saga";
  m.keys = {"saga", "async", "notify", "sinks", "validate"};
  m.parse = [](ModeContext& ctx) -> std::shared_ptr<const ModeConfig> {
    auto s = std::make_shared<SagaSettings>();
    if (auto n = ctx.node["saga"])
      ReadSaga(ctx, n, *s);
    else
      ctx.reader.Error(ctx.node, "a saga route needs 'saga' with its 'steps'");
    if (auto a = ctx.node["async"]) {
      ReadQueueConfig(ctx.reader, a, s->queue);
      if (a.IsMap() && a["ordering_key"])
        ctx.reader.Error(a["ordering_key"], "a saga runs its steps one at a time already; drop async.ordering_key");
    }
    ReadEventSinks(ctx.reader, ctx.node, ctx.nats, s->notify_config, s->nats_sink);
    ReadSchemaKey(ctx, s->validate, s->schema);
    CheckQueueLease(ctx.reader, ctx.node, s->queue, ctx.upstream);
    std::set<std::string> others;  // a lease must outlast a request to every upstream a step names
    for (const auto& st : s->def.steps)
      if (!st.upstream.empty() && others.insert(st.upstream).second)
        CheckQueueLease(ctx.reader, ctx.node, s->queue, ctx.FindUpstream(st.upstream));
    CheckQueueRetention(ctx.reader, ctx.node, ctx.route.idempotency, s->queue);
    return s;
  };
  return m;
}

Pattern SagaPattern() {
  Pattern p;
  p.spec = SagaSpec();
  p.make = [](const RouteConfig& rc, RouteServices& s) -> std::unique_ptr<Route> {
    Store& store = s.store();
    auto& api = static_cast<SagaApi&>(s.Api("sagas", [&store] { return std::make_unique<SagaApi>(store.db()); }));
    const auto& settings = rc.settings_as<SagaSettings>();
    auto route = std::make_unique<SagaRoute>(rc, settings, s);
    api.AddRoute(route.get());
    if (settings.notify_config.enabled()) s.AddWebhook(rc.name, settings.notify_config);
    if (settings.nats_sink.enabled) s.AddNatsSink(rc.name, settings.nats_sink);
    return route;
  };
  p.schema = {SagaStore::Schema(), SagaStore::ExpirySchema()};
  p.collect = &SagaStore::CollectExpired;
  return p;
}

}  // namespace writ
