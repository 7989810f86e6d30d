// Internal to the PostgreSQL backend: the schema, one step per version,
// numbered as SQLite's (1: idempotency records; 2: command queue and status
// events; 3: buffered jobs). `writ migrate` applies them.
#pragma once

namespace writ::pg {

extern const char* const kKeysSchema;
extern const char* const kCommandsSchema;
extern const char* const kJobsSchema;

}  // namespace writ::pg
