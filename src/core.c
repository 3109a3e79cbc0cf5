/* luaopen_chronosheets_core: the module table, the shared state, the JSON
 * codec. */
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#include "client.h"
#include "compat.h"
#include "http.h"
#include "wire.h"

#if defined(__GNUC__)
#define CS_EXPORT __attribute__((visibility("default")))
#else
#define CS_EXPORT
#endif

/* Sets the codec slots of the state table (at state) from the table at
 * codec: decode and encode functions, and the value decode gives for a
 * JSON null (nil when it has none). */
static void set_codec(lua_State *L, int state, int codec)
{
    lua_getfield(L, codec, "decode");
    lua_getfield(L, codec, "encode");
    if (lua_type(L, -2) != LUA_TFUNCTION || lua_type(L, -1) != LUA_TFUNCTION)
        luaL_argerror(L, codec, "a JSON codec needs decode and encode functions");
    lua_rawseti(L, state, STATE_ENCODE);
    lua_rawseti(L, state, STATE_DECODE);
    lua_getfield(L, codec, "null");
    lua_rawseti(L, state, STATE_NULL);
}

/* chronosheets.core.use_json(codec): for hosts that bring their own codec
 * (Neovim's vim.json); every client of this module uses it from then on. */
static int core_use_json(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    set_codec(L, STATE_INDEX, 1);
    lua_pushboolean(L, 0);
    lua_rawseti(L, STATE_INDEX, STATE_FAST);
    return 0;
}

/* A private lua-cjson instance, so settings here never change the
 * caller's cjson: NaN, Infinity and hex numbers are refused, and nesting
 * is bounded well below what the mapper would accept. */
static int load_cjson(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    lua_call(L, 0, 1);
    static const char *const settings[][2] = {
        { "decode_invalid_numbers", NULL }, { "encode_invalid_numbers", NULL },
        { "decode_max_depth", "64" }, { "encode_max_depth", "64" },
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        lua_getfield(L, -1, settings[i][0]);
        if (settings[i][1] == NULL)
            lua_pushboolean(L, 0);
        else
            lua_pushinteger(L, 64);
        lua_call(L, 1, 0);
    }
    return 1;
}

static int core_curl_version(lua_State *L)
{
    lua_pushstring(L, http_curl_version());
    return 1;
}

static const luaL_Reg core_functions[] = {
    { "use_json", core_use_json },
    { "curl_version", core_curl_version },
    { NULL, NULL }
};

CS_EXPORT int luaopen_chronosheets_core(lua_State *L);

CS_EXPORT int luaopen_chronosheets_core(lua_State *L)
{
    if (http_global_init() != 0)
        return luaL_error(L, "curl_global_init failed");

    lua_createtable(L, 5, 0);                   /* the state table */
    int state = lua_gettop(L);
    wire_open_error(L);
    lua_rawseti(L, state, STATE_ERROR_MT);
    /* Without lua-cjson the module still loads; use_json must then be
     * called before the first request. */
    lua_pushcfunction(L, load_cjson);
    if (lua_pcall(L, 0, 1, 0) == 0) {
        set_codec(L, state, lua_gettop(L));
        lua_pushboolean(L, 1);
        lua_rawseti(L, state, STATE_FAST);
    }
    lua_pop(L, 1);

    lua_newtable(L);                            /* the module */
    lua_pushvalue(L, state);
    cs_setfuncs(L, core_functions, 1);
    lua_pushliteral(L, CHRONOSHEETS_VERSION);
    lua_setfield(L, -2, "VERSION");
    lua_rawgeti(L, state, STATE_ERROR_MT);
    lua_setfield(L, -2, "error_mt");
    client_open(L);
    return 1;
}
