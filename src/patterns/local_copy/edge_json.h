// How an edge record looks in answers and in `writ edge`: one JSON shape
// for the route and the operator's tools.
#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "patterns/local_copy/edge_store.h"

namespace writ {

// The record: ids, version, sync status, the master's last answer when it
// refused; `base` is the collection's local path (for canonicalUrl). A
// record held in a conflict shows the master's version beside the local one.
boost::json::object EdgeRecordJson(const EdgeRecord& r, const std::string& base, bool with_data);

}  // namespace writ
