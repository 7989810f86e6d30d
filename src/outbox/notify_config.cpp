#include "outbox/notify_config.h"

#include "config/reader.h"

namespace writ {

void ReadNotifyConfig(Reader& r, const YAML::Node& n, NotifyConfig& c) {
  if (!r.CheckMap(n, "notify", {"url", "secret", "timeout", "ca_file", "redact"})) return;
  r.Str(n, "url", c.url);
  if (auto v = n["secret"]; v && v.IsScalar() && v.Scalar().rfind("${", 0) == 0) ReadSecret(r, n, "secret", c.secret);
  else r.Str(n, "secret", c.secret);
  r.Bool(n, "redact", c.redact);
  r.Duration(n, "timeout", c.timeout);
  if (!n["url"]) return r.Error(n, "notify needs a url (http://host:port/path)");
  if (!ParseHttpUrl(c.url, c.host, c.port, c.path, &c.tls))
    r.Error(n["url"], "notify url must be http[s]://host[:port]/path, got '" + c.url + "'");
  r.File(n, "ca_file", c.ca_file, "CA file");
  if (c.path.empty()) c.path = "/";
  if (!n["secret"] || c.secret.size() < 8)
    r.Error(At(n, "secret"), "notify needs a secret of at least 8 characters (Standard Webhooks: whsec_<base64>)");
}

}  // namespace writ
