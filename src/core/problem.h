// RFC 9457 problem details. Every error Writ answers goes through Problem(),
// with a stable type URI per error kind (https://writ.dev/problems/<slug>).
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/http_types.h"

namespace writ {

// Builds an application/problem+json response. `extra` members are merged in.
Response Problem(int status, std::string_view slug, std::string_view title,
                 std::string_view detail, boost::json::object extra = {});

std::string ProblemType(std::string_view slug);

// A plain application/json response.
Response JsonResponse(int status, const boost::json::value& v);

}  // namespace writ
