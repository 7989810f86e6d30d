// Named crash points: places where a crash hurts most. When built with
// WRIT_CRASH_POINTS (non-Release builds) and the environment variable
// WRIT_CRASH_AT names the point, the process kills itself with SIGKILL there,
// exactly as `kill -9` would. WRIT_CRASH_AFTER=N lets the first N hits pass.
// In Release builds the macro compiles to nothing.
#pragma once

namespace writ {
void CrashPointHit(const char* name);
}

#ifdef WRIT_CRASH_POINTS
#define WRIT_CRASH_POINT(name) ::writ::CrashPointHit(name)
#else
#define WRIT_CRASH_POINT(name) ((void)0)
#endif

// The names in use:
//   "after_upstream_response"  master answered, record not yet updated
//   "after_commit_before_response"  record committed, response not yet written
//   "after_claim"  in-flight record committed, master not yet called
//   "after_outcome_commit"  a command's final outcome and its mode's move (a saga's next request) committed
//   "after_delivery_before_mark"  webhook receiver answered 2xx, event not yet marked sent
//   "nats_after_publish_before_mark"  JetStream acknowledged a round of events, not yet marked published
//   "edge_after_write_commit"  an edge record and its change committed, answer not yet written
//   "edge_before_send"  an edge change claimed and prepared, master not yet called
//   "copy_before_page_apply"  a page of the master's change feed read, not yet applied to the copy
//   "copy_after_page_commit"  a page applied and the refresh cursor moved (one commit), next page not read
//   "reconcile_after_repair"  a chunk's repairs applied, its counts and checkpoint not yet committed
//   "reconcile_after_chunk_commit"  a chunk's counts, mismatches and checkpoint committed
