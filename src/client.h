/* The client userdata: one HTTP handle, the endpoint methods. */
#ifndef CHRONOSHEETS_CLIENT_H
#define CHRONOSHEETS_CLIENT_H

#include <lua.h>

#define CLIENT_MT "chronosheets.client"
#define CHRONOSHEETS_VERSION "0.1.0"

/* Registers the client metatable and sets module.client (the
 * constructor) and module.client_methods in the table on top of the
 * stack, which sits just above the state table. */
void client_open(lua_State *L);

#endif
