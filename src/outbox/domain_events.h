// A route's domain events (`events:`): when a submission ends with a given
// status, a message of the team's own (e.g. order.created with the master's
// answer) is written to the `outbox` table in the transaction that records
// the outcome. Its columns follow Debezium's outbox event router (id,
// aggregatetype, aggregateid, type, payload), so a team running Debezium can
// read the table; with `sinks.nats` the NATS relay also publishes each one
// on its subject, once (Nats-Msg-Id = id), in order per submission.
#pragma once

#include <string>
#include <vector>

#include "store/commands.h"

namespace YAML {
class Node;
}

namespace writ::sql {
class Conn;
}

namespace writ {

class Reader;

struct DomainEventDef {
  SubmissionStatus on = SubmissionStatus::kSucceeded;  // succeeded, failed or dead (a worker's outcome)
  std::string type;            // Debezium `type`, e.g. order.created
  std::string subject;         // NATS subject; default: the type
  std::string payload = "/response/body";  // JSON Pointer into {request, response, submission}
  std::string aggregate_type;  // Debezium `aggregatetype`; default: the route's name as a token
  std::string aggregate_id;    // JSON Pointer as payload; default: the canonical id, else the submission id
};

// Reads a route's `events:` list (errors through `r`). `nats`: the config's
// block when the route publishes to NATS (its subjects are checked against
// the stream's), else null.
void ReadDomainEvents(Reader& r, const YAML::Node& list, const std::string& route, const struct NatsConfig* nats,
                      std::vector<DomainEventDef>& out);

// Inside the transaction that records `o` (a terminal outcome of a command
// of `route`): a row in `outbox` for each def whose `on` is o.status.
// `publish`: the route has a NATS sink (the relay is to publish them).
// Their time is the outcome's (the command's updated_at).
Status InsertDomainEvents(sql::Conn& c, const AttemptOutcome& o, const std::string& route,
                          const std::vector<DomainEventDef>& defs, bool publish);

}  // namespace writ
