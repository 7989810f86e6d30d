// Probes: asking the master whether a write whose outcome is unknown was
// applied, by looking it up under the key Writ sent (idempotency.probe in a
// route's config). Used by the sync completer and the queue worker.
#pragma once

#include <string>

#include "config/config.h"
#include "store/key_store.h"  // StoredResponse
#include "upstream/client.h"

namespace writ {

// What a probe's answer says about the write it asks after.
enum class ProbeVerdict { kFound, kNotFound, kFailed };
// `answer` is the master's reply to the probe; kFound fills `stored` with
// the answer to replay (the value at probe.found, as JSON).
ProbeVerdict ReadProbeAnswer(const ProbeConfig& probe, const UpstreamResult& answer, StoredResponse* stored);
// The probe request for a key: `{key}` in probe.path is the derived key,
// percent-encoded.
// When to probe again a write still undecided `age` after its attempt:
// `interval`, growing with the age up to 10x; one that was not found is due
// again when its settle time is up, if that is sooner.
Millis NextProbeGap(const ProbeConfig& probe, ProbeVerdict verdict, Millis age);
UpstreamRequest BuildProbeRequest(const ProbeConfig& probe, const std::string& base_path,
                                  const std::string& upstream_key);

}  // namespace writ
