/* The fast path for replies: a JSON parser that knows the schema and
 * builds a 2xx reply's result straight from the body, for what lua-cjson
 * and wire.c's mapper would turn into the very same result; on anything
 * else it declines and the general path runs. */
#ifndef CHRONOSHEETS_FASTPATH_H
#define CHRONOSHEETS_FASTPATH_H

#include <lua.h>

#include "http.h"
#include "wire.h"

/* Pushes the result and returns 0, or returns -1 with the stack as it
 * was. Needs the state table as upvalue 1, like every wire function. */
int fastpath_reply(lua_State *L, const http_response *response, const wire_reply *reply);

#endif
