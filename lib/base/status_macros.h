// Status propagation helpers missing from abseil 20220623.
//
//   RETURN_IF_ERROR(store->Flush());
//   ASSIGN_OR_RETURN(auto record, store->Get("workflows", key));
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ARGONAUT_CONCAT_INNER(a, b) a##b
#define ARGONAUT_CONCAT(a, b) ARGONAUT_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::absl::Status _status_to_return = (expr); \
    if (!_status_to_return.ok()) {             \
      return _status_to_return;                \
    }                                          \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ARGONAUT_ASSIGN_OR_RETURN_IMPL(ARGONAUT_CONCAT(_statusor_, __LINE__), lhs, expr)

#define ARGONAUT_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) {                                     \
    return std::move(statusor).status();                    \
  }                                                         \
  lhs = std::move(statusor).value()
