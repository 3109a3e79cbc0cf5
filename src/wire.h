/* Between the wire and Lua: requests checked against the schema and
 * written as JSON, replies decoded, checked and mapped to snake_case Lua
 * tables, and the error values every failure becomes.
 *
 * Every function of the module shares one upvalue, the "state" table,
 * whose array part holds what these functions need: */
#ifndef CHRONOSHEETS_WIRE_H
#define CHRONOSHEETS_WIRE_H

#include <stddef.h>
#include <lua.h>

#include "http.h"
#include "schema.h"

enum {
    STATE_DECODE = 1,           /* JSON decode function */
    STATE_ENCODE,               /* JSON encode function */
    STATE_NULL,                 /* the codec's null value */
    STATE_ERROR_MT,             /* metatable of error values */
    STATE_FAST,                 /* true while the codec is the built-in lua-cjson,
                                   whose replies wire.c may read itself */
    STATE_KEYS                  /* wire.c's cache of the schema's Lua names */
};
#define STATE_INDEX lua_upvalueindex(1)

typedef struct wire_buffer {
    char *data;
    size_t len, cap;
} wire_buffer;

void wire_buffer_free(wire_buffer *b);

/* What a reply's Data must be. */
typedef enum wire_data {
    WIRE_DATA_MODEL,            /* an object of reply->model */
    WIRE_DATA_TRUE,             /* the boolean true */
    WIRE_DATA_ENVELOPE          /* anything: the whole envelope is returned */
} wire_data;

typedef struct wire_reply {
    wire_data data;
    const schema_model *model;
    int is_login;               /* Data.CSAuthToken must be a token we can send */
} wire_reply;

/* Strings that must never appear in an error message (the token and the
 * passwords of the request); unused slots are NULL. */
#define WIRE_SECRETS 4
typedef struct wire_secrets {
    const char *text[WIRE_SECRETS];
    size_t len[WIRE_SECRETS];
} wire_secrets;

/* Checks the table at arg against model, raw reads only (no metamethod of
 * the caller's runs), and writes it as a JSON object into b, fields in
 * schema order. required lists Lua names that must be present and
 * non-empty (NULL-terminated, or NULL). Raises an argument error naming
 * the field on anything wrong, before a byte is sent. */
void wire_encode_request(lua_State *L, int arg, const schema_model *model,
                         const char *const *required, wire_buffer *b);

/* Pushes the outcome of a transfer: the result (1 value) or nil and an
 * error value (2 values); returns how many. Never raises for anything the
 * server sent. */
int wire_push_reply(lua_State *L, const http_response *response,
                    const wire_reply *reply, const wire_secrets *secrets);

/* Pushes nil and an error value; returns 2. message is redacted. */
int wire_push_error(lua_State *L, const char *kind, const char *status, long http_status,
                    const char *message, const wire_secrets *secrets);

/* Creates the error metatable and leaves it on the stack. */
void wire_open_error(lua_State *L);

/* Whether the table at result (a mapped DoLoginResponse) holds a token we
 * can send back: a non-empty cs_auth_token of printable ASCII, at most
 * 4 KiB. */
int wire_token_usable(lua_State *L, int result);

/* Raises unless s[0..len) is valid UTF-8. */
int wire_valid_utf8(const char *s, size_t len);

#endif
