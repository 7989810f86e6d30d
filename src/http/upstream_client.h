// Factory for the pooled HTTP/1.1 upstream client (see upstream/client.h).
#pragma once

#include <memory>

#include "config/config.h"
#include "http/runtime.h"
#include "upstream/client.h"

namespace writ {

std::unique_ptr<UpstreamClient> MakeHttpUpstreamClient(Runtime& rt, const UpstreamConfig& config);

}  // namespace writ
