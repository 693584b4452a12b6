#include "lib/auth/caller_token.h"

#include <utility>

namespace argonaut::auth {
namespace {

thread_local std::optional<std::string> current_token;

}  // namespace

ScopedCallerToken::ScopedCallerToken(std::string bearer_header_value)
    : previous_(std::exchange(current_token, std::move(bearer_header_value))) {}

ScopedCallerToken::~ScopedCallerToken() { current_token = std::move(previous_); }

std::optional<std::string> CurrentCallerToken() { return current_token; }

}  // namespace argonaut::auth
