// Factory for the pooled HTTP/1.1 upstream client (see upstream/client.h).
#pragma once

#include <memory>

#include "config/config.h"
#include "metrics/metrics.h"
#include "http/runtime.h"
#include "upstream/client.h"

namespace writ {

// `metrics` (optional) receives writ_upstream_connections_opened_total{upstream}.
std::unique_ptr<UpstreamClient> MakeHttpUpstreamClient(Runtime& rt, const UpstreamConfig& config,
                                                       Metrics* metrics = nullptr);

}  // namespace writ
