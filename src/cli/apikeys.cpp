// `writ apikeys create|list|revoke|rotate`: the API keys of a store. Like
// every command that opens the store directly, these need file access to it
// (SQLite) or its credentials (PostgreSQL): that is their authorization.
#include <iostream>

#include "cli/commands.h"
#include "core/api_key.h"
#include "core/tenant.h"
#include "core/units.h"

namespace writ {
namespace {

// The store and the pepper of a config with auth.api_keys; null (the reason
// printed) when either is missing.
std::unique_ptr<Store> OpenForKeys(const std::string& config_path, bool read_only, Config* config) {
  auto store = OpenFromConfig(config_path, read_only, config);
  if (!store.ok()) {
    std::cerr << "cannot open store: " << store.status().message() << "\n";
    return nullptr;
  }
  if (!config->auth.api_keys) {
    std::cerr << config_path << " has no auth.api_keys (with its pepper): keys made now could not be checked by "
                                "writ serve\n";
    return nullptr;
  }
  return std::move(*store);
}

std::string Time(Millis ms) { return ms == 0 ? "-" : FormatTimestamp(ms); }

// Makes a key like `like` (tenant, roles, name) ending at `expires_at`;
// prints the whole key once.
int Make(Store& store, const Config& config, ApiKeyRecord like, std::ostream& out) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto parts = NewApiKey();
    if (!parts) {
      std::cerr << "the system's random number generator failed\n";
      return 1;
    }
    like.id = parts->id;
    like.digest = ApiKeyDigest(config.auth.pepper, parts->secret);
    auto made = CreateApiKeySync(store.api_keys(), like);
    if (!made.ok()) {
      std::cerr << "cannot store the key: " << made.status().message() << "\n";
      return 1;
    }
    if (!*made) continue;  // the id was taken: draw again
    std::cerr << "key " << like.id << " for tenant " << like.tenant << " (" << RolesToString(like.roles)
              << "), expires " << Time(like.expires_at) << ". The key is shown once, now:\n";
    out << FormatApiKey(*parts) << "\n";
    return 0;
  }
  std::cerr << "could not draw an unused key id\n";
  return 1;
}

}  // namespace

int RunApiKeysCreate(const ApiKeysOptions& o) {
  auto roles = ParseRoles(o.roles);
  if (!roles) {
    std::cerr << "--roles must list client, reader and/or operator, e.g. client or reader,operator\n";
    return 2;
  }
  if (o.tenant == kAllTenants) {
    if (*roles & kRoleClient) {
      std::cerr << "--tenant '*' reads and operates on every tenant but cannot write: a write belongs to one "
                   "tenant. Give it reader and/or operator, and clients a key of their own tenant\n";
      return 2;
    }
  } else if (o.tenant.empty() || o.tenant.size() > 64 ||
             o.tenant.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                 std::string::npos) {
    std::cerr << "--tenant must be 1-64 letters, digits, '_', '.' or '-', or '*' for every tenant\n";
    return 2;
  }
  Config config;
  auto store = OpenForKeys(o.config_path, false, &config);
  if (!store) return 1;
  ApiKeyRecord rec;
  rec.tenant = o.tenant;
  rec.roles = *roles;
  rec.name = o.name;
  if (o.expires_in > 0) rec.expires_at = store->Now() + o.expires_in;
  return Make(*store, config, rec, std::cout);
}

int RunApiKeysList(const ApiKeysOptions& o) {
  Config config;
  auto store = OpenForKeys(o.config_path, true, &config);
  if (!store) return 1;
  auto rows = store->api_keys().List();
  if (!rows.ok()) {
    std::cerr << rows.status().message() << "\n";
    return 1;
  }
  Millis now = store->Now();
  std::cout << "ID\tTENANT\tROLES\tSTATE\tCREATED\tEXPIRES\tLAST_USED\tNAME\n";
  for (const auto& k : *rows)
    std::cout << k.id << '\t' << k.tenant << '\t' << RolesToString(k.roles) << '\t'
              << (k.revoked_at ? "revoked" : k.Usable(now) ? "active" : "expired") << '\t' << Time(k.created_at) << '\t'
              << Time(k.expires_at) << '\t' << Time(k.last_used_at) << '\t' << k.name << '\n';
  std::cerr << rows->size() << " key(s)\n";
  return 0;
}

int RunApiKeysRevoke(const ApiKeysOptions& o) {
  Config config;
  auto store = OpenForKeys(o.config_path, false, &config);
  if (!store) return 1;
  int failed = 0;
  for (const auto& id : o.ids) {
    auto r = RevokeApiKeySync(store->api_keys(), id);
    if (!r.ok()) {
      std::cerr << id << ": " << r.status().message() << "\n";
      ++failed;
    } else if (!*r) {
      std::cerr << id << ": no such key, or revoked already\n";
      ++failed;
    } else {
      std::cout << id << ": revoked (every instance refuses it within " << FormatDuration(config.auth.cache_ttl)
                << ")\n";
    }
  }
  return failed ? 1 : 0;
}

int RunApiKeysRotate(const ApiKeysOptions& o) {
  Config config;
  auto store = OpenForKeys(o.config_path, false, &config);
  if (!store) return 1;
  auto old = store->api_keys().Get(o.ids.front());
  if (!old.ok() || !old->has_value()) {
    std::cerr << o.ids.front() << ": " << (old.ok() ? "no such key" : old.status().message()) << "\n";
    return 1;
  }
  Millis now = store->Now();
  if (!(*old)->Usable(now)) {
    std::cerr << o.ids.front() << ": revoked or expired; create a new key instead\n";
    return 1;
  }
  ApiKeyRecord like = **old;
  like.last_used_at = 0;
  // The new key lives as long as the old one would have from now.
  if (like.expires_at) like.expires_at = now + (like.expires_at - like.created_at);
  if (int rc = Make(*store, config, like, std::cout); rc != 0) return rc;
  auto ended = EndApiKeyBySync(store->api_keys(), (*old)->id, now + o.overlap);
  if (!ended.ok()) {
    std::cerr << "the new key is made, but the old one could not be given an end: " << ended.status().message()
              << "; revoke " << (*old)->id << " once clients use the new key\n";
    return 1;
  }
  std::cerr << "the old key " << (*old)->id << " keeps working until " << Time(now + o.overlap) << "\n";
  return 0;
}

}  // namespace writ
