/* Lua 5.1-5.4 and LuaJIT differences, in one place.
 *
 * Every shim has a name of our own (cs_*) so that no Lua API name is ever
 * redefined: LuaJIT already ships some 5.2 functions, and a second
 * definition of, say, luaL_setfuncs is how compat layers collide. */
#ifndef CHRONOSHEETS_COMPAT_H
#define CHRONOSHEETS_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM >= 502
#define cs_setfuncs(L, l, nup) luaL_setfuncs((L), (l), (nup))
#define cs_rawlen(L, i) lua_rawlen((L), (i))
#define cs_newlib(L, l) luaL_newlib((L), (l))
#else
/* luaL_setfuncs from 5.2, written out: each function gets the nup values
 * below the table as upvalues. */
static inline void cs_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    luaL_checkstack(L, nup + 1, "too many upvalues");
    for (; l->name != NULL; l++) {
        int i;
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}
#define cs_rawlen(L, i) lua_objlen((L), (i))
#define cs_newlib(L, l) (lua_newtable(L), cs_setfuncs((L), (l), 0))
#endif

/* Lua 5.3 gave numbers an integer subtype; before it every number is a
 * double, so "is an integer" means "has no fractional part and fits a
 * lua_Integer" (ptrdiff_t there). The range comes first: converting a
 * double outside it, or NaN, to an integer is undefined behaviour. */
#if LUA_VERSION_NUM >= 503
#define cs_isinteger(L, i) lua_isinteger((L), (i))
#else
#include <stdint.h>
static inline int cs_isinteger(lua_State *L, int i)
{
    if (lua_type(L, i) != LUA_TNUMBER)
        return 0;
    lua_Number n = lua_tonumber(L, i);
    /* -(double)PTRDIFF_MIN is 2^63 (2^31) exactly, one past the largest. */
    if (!(n >= (lua_Number)PTRDIFF_MIN && n < -(lua_Number)PTRDIFF_MIN))
        return 0;
    return n == (lua_Number)(lua_Integer)n;
}
#endif

/* 5.4 added __close; the metamethod is harmless on older versions, where
 * nothing calls it. */

#endif
