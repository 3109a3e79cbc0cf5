/* Non-blocking calls over libcurl's multi interface.
 *
 * Each client owns one multi handle. A call started with an `_async`
 * method gets its own easy handle (its own timeout, its own buffers) and
 * returns at once with a call handle; the host's event loop asks
 * client:pending() which sockets to watch and when to wake, and hands
 * readiness back with client:drive(fd, events) / client:drive_timeout(),
 * or lets client:wait([timeout]) poll for it.
 *
 * curl's socket and timer callbacks only record into C state. Results are
 * built by the same code as the blocking calls (http_call_finish, then
 * wire_push_reply) and handed to the Lua callbacks only after curl has
 * returned, each under lua_pcall, so no Lua error ever unwinds through
 * libcurl. */
#ifndef CHRONOSHEETS_MULTI_H
#define CHRONOSHEETS_MULTI_H

#include <stddef.h>
#include <lua.h>

#include "http.h"
#include "wire.h"

#define CALL_MT "chronosheets.call"
#define DEFAULT_MAX_CONNECTIONS 16

typedef struct multi multi;

/* Copies what it keeps of options. NULL on failure, with a reason. */
multi *multi_new(const http_options *options, long max_connections, char *err, size_t errlen);

/* Cancels every call (their callbacks never run), releases what they hold
 * and frees m, or defers the free until a delivery in progress returns. */
void multi_close(lua_State *L, multi *m);

/* True inside a client method called through its `_async` form: the
 * method then hands its request to multi_start instead of performing it. */
int multi_is_async(lua_State *L);

/* Starts the prepared request on m and pushes the call handle; returns 1.
 * The body, the token and the secrets are copied. Raises on misuse or
 * when the call cannot be set up. */
int multi_start(lua_State *L, multi *m, const char *method, const char *path,
                const char *token, size_t token_len, const char *body, size_t body_len,
                const wire_reply *reply, const wire_secrets *secrets);

/* With the client's method table on top of the stack and the state table
 * just below it: adds NAME_async for each endpoint method already in the
 * table, and pending, drive, drive_timeout, wait and in_flight; registers
 * the call handle's metatable. */
void multi_open(lua_State *L);

/* Provided by client.c: the multi of the client at idx; raises if the
 * client is closed. */
multi *client_multi(lua_State *L, int idx);

#endif
