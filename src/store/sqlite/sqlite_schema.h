// Internal to the SQLite backend: the schema, one step per version. Each
// step takes the store from the previous version to its own.
#pragma once

namespace writ::sqlite {

extern const char* const kKeysSchema;      // version 1: idempotency records
extern const char* const kCommandsSchema;  // version 2: command queue, status events
extern const char* const kJobsSchema;      // version 3: buffered jobs

}  // namespace writ::sqlite
