#include "lib/lua/lua.h"

#include <cmath>
#include <lua5.1/lua.hpp>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace argonaut::lua {
namespace {

constexpr int kMaxDepth = 64;
constexpr int kInstructionBudget = 10'000'000;

void Push(lua_State* L, const nlohmann::json& v, int depth) {
  if (depth > kMaxDepth || v.is_null()) {
    lua_pushnil(L);
  } else if (v.is_boolean()) {
    lua_pushboolean(L, v.get<bool>());
  } else if (v.is_number()) {
    lua_pushnumber(L, v.get<double>());
  } else if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    lua_pushlstring(L, s.data(), s.size());
  } else {
    lua_createtable(L, 0, 0);
    if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        Push(L, v[i], depth + 1);
        lua_rawseti(L, -2, static_cast<int>(i + 1));
      }
    } else {
      for (auto it = v.begin(); it != v.end(); ++it) {
        lua_pushlstring(L, it.key().data(), it.key().size());
        Push(L, it.value(), depth + 1);
        lua_rawset(L, -3);
      }
    }
  }
}

nlohmann::json Pull(lua_State* L, int idx, int depth) {
  switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
      return lua_toboolean(L, idx) != 0;
    case LUA_TNUMBER: {
      double d = lua_tonumber(L, idx);
      if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
      return d;
    }
    case LUA_TSTRING: {
      size_t n = 0;
      const char* s = lua_tolstring(L, idx, &n);
      return std::string(s, n);
    }
    case LUA_TTABLE: {
      if (depth > kMaxDepth) return nullptr;
      if (idx < 0) idx = lua_gettop(L) + idx + 1;
      size_t n = lua_objlen(L, idx);
      size_t count = 0;
      lua_pushnil(L);
      while (lua_next(L, idx) != 0) {
        ++count;
        lua_pop(L, 1);
      }
      if (n > 0 && n == count) {
        nlohmann::json arr = nlohmann::json::array();
        for (size_t i = 1; i <= n; ++i) {
          lua_rawgeti(L, idx, static_cast<int>(i));
          arr.push_back(Pull(L, -1, depth + 1));
          lua_pop(L, 1);
        }
        return arr;
      }
      nlohmann::json obj = nlohmann::json::object();
      lua_pushnil(L);
      while (lua_next(L, idx) != 0) {
        lua_pushvalue(L, -2);  // lua_tostring would turn a number key in place
        const char* k = lua_tostring(L, -1);
        if (k != nullptr) obj[k] = Pull(L, -2, depth + 1);
        lua_pop(L, 2);
      }
      return obj;
    }
    default:
      return nullptr;
  }
}

void Budget(lua_State* L, lua_Debug*) { luaL_error(L, "script exceeded its instruction budget"); }

}  // namespace

absl::StatusOr<nlohmann::json> RunLua(std::string_view script, std::string_view global_name,
                                      const nlohmann::json& value) {
  std::unique_ptr<lua_State, void (*)(lua_State*)> state(luaL_newstate(), lua_close);
  if (!state) return absl::ResourceExhaustedError("cannot create a Lua state");
  lua_State* L = state.get();
  // Base, string, table and math only: a user script has no business with io/os.
  const std::pair<const char*, lua_CFunction> libs[] = {{"", luaopen_base},
                                                        {LUA_STRLIBNAME, luaopen_string},
                                                        {LUA_TABLIBNAME, luaopen_table},
                                                        {LUA_MATHLIBNAME, luaopen_math}};
  for (const auto& [name, open] : libs) {
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
  }
  for (const char* unsafe : {"dofile", "loadfile", "load", "loadstring", "require"}) {
    lua_pushnil(L);
    lua_setglobal(L, unsafe);
  }
  Push(L, value, 0);
  std::string name(global_name);
  lua_setglobal(L, name.c_str());
  lua_sethook(L, Budget, LUA_MASKCOUNT, kInstructionBudget);
  int base = lua_gettop(L);
  if (luaL_loadbuffer(L, script.data(), script.size(), "script") != 0 ||
      lua_pcall(L, 0, LUA_MULTRET, 0) != 0) {
    const char* msg = lua_tostring(L, -1);
    return absl::InvalidArgumentError(absl::StrCat("script: ", msg ? msg : "error"));
  }
  if (lua_gettop(L) == base) return nlohmann::json(nullptr);
  return Pull(L, base + 1, 0);
}

}  // namespace argonaut::lua
