/* libFuzzer harness over the reply path: bytes as a server would send
 * them, through wire_push_reply (envelope checks, JSON decoding with the
 * module's own lua-cjson instance, key mapping, integer fixing, the login
 * token checks, error values and their redaction).
 *
 * Input: three selector bytes, then the body (given to wire_push_reply
 * with a NUL after it, as http.c gives it).
 *   [0] which reply model: login, profile, update, Data = true, envelope
 *   [1] low 4 bits: the HTTP status; next 3 bits: the content type
 *   [2] low 3 bits: 0-5 a transfer that ended well, 6 a transport error
 *       whose curl message is the body (redaction of arbitrary text),
 *       7 a body over max_response_bytes
 * fuzz/corpus holds real replies of the emulator in this form
 * (fuzz/capture makes them).
 *
 * Beyond "no crash, no sanitizer report", each outcome is checked: the
 * function never raises; it gives one value (a table, or true) or nil and
 * an error value whose kind is one of the four; a login result carries a
 * token that can go into a header; and no error text ever holds the
 * canary password or token, which the harness passes as the call's
 * secrets and which inputs may echo. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "http.h"
#include "schema.h"
#include "wire.h"

int luaopen_chronosheets_core(lua_State *L);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PASSWORD "pw-CANARY-7f3a"
#define TOKEN "0123456789abcdefCANARYTOKEN"

static const long statuses[16] = {
    200, 200, 201, 204, 299, 301, 302, 400, 401, 403, 404, 405, 500, 502, 503, 0
};
static const char *const content_types[8] = {
    "application/json; charset=utf-8", "application/json", "text/html; charset=utf-8", NULL,
    "text/plain", "application/problem+json", "", "application/json; charset=iso-8859-1"
};
static const wire_reply replies[5] = {
    { WIRE_DATA_MODEL, &schema_do_login_response, 1 },
    { WIRE_DATA_MODEL, &schema_user_profile, 0 },
    { WIRE_DATA_MODEL, &schema_update_profile_response, 0 },
    { WIRE_DATA_TRUE, NULL, 0 },
    { WIRE_DATA_ENVELOPE, NULL, 0 },
};

static lua_State *L;
static int fuzz_fn;             /* registry ref of the closure below */

typedef struct input {
    const uint8_t *data;
    size_t size;
    const char *body;           /* data + 3, copied with the NUL http.c adds */
} input;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_reply: %s: %s\n", what, detail != NULL ? detail : "");
    abort();
}

/* The call, with the state table as upvalue 1 like every module function. */
static int push_reply(lua_State *LL)
{
    const input *in = lua_touserdata(LL, 1);
    const wire_reply *reply = &replies[in->data[0] % 5];
    http_response r;
    memset(&r, 0, sizeof r);
    r.status = statuses[in->data[1] & 15];
    r.content_type = content_types[(in->data[1] >> 4) & 7];
    r.body = in->body;
    r.body_len = in->size - 3;
    char *message = NULL;
    switch (in->data[2] & 7) {
    case 6:
        message = lua_newuserdata(LL, r.body_len + 1);
        memcpy(message, r.body, r.body_len);
        message[r.body_len] = '\0';
        r.code = CURLE_OPERATION_TIMEDOUT;
        r.error = message;
        break;
    case 7:
        r.code = CURLE_WRITE_ERROR;
        r.too_large = 1;
        r.error = "Failure writing output to destination";
        break;
    default:
        r.code = CURLE_OK;
    }
    wire_secrets secrets = { { PASSWORD, TOKEN, NULL, NULL },
                             { sizeof PASSWORD - 1, sizeof TOKEN - 1, 0, 0 } };
    int base = lua_gettop(LL);
    int n = wire_push_reply(LL, &r, reply, &secrets);
    if (lua_gettop(LL) != base + n)
        fail("wire_push_reply left a stack that does not match its count", NULL);
    return n;
}

static void no_secret(lua_State *LL, int idx, const char *field)
{
    if (lua_type(LL, idx) != LUA_TSTRING)
        return;
    size_t len;
    const char *s = lua_tolstring(LL, idx, &len);
    for (size_t i = 0; i < len; i++)
        if ((len - i >= sizeof PASSWORD - 1 && memcmp(s + i, PASSWORD, sizeof PASSWORD - 1) == 0)
            || (len - i >= sizeof TOKEN - 1 && memcmp(s + i, TOKEN, sizeof TOKEN - 1) == 0))
            fail("a secret in the error", field);
}

static void check_error(lua_State *LL, int err)
{
    if (!lua_istable(LL, err))
        fail("the error is not a table", luaL_typename(LL, err));
    lua_getfield(LL, err, "kind");
    const char *kind = lua_tostring(LL, -1);
    if (kind == NULL || (strcmp(kind, "decode") != 0 && strcmp(kind, "http") != 0
                         && strcmp(kind, "api") != 0 && strcmp(kind, "transport") != 0))
        fail("unknown error kind", kind);
    lua_getfield(LL, err, "message");
    if (lua_type(LL, -1) != LUA_TSTRING)
        fail("the error has no message", kind);
    no_secret(LL, -1, "message");
    lua_getfield(LL, err, "status");
    no_secret(LL, -1, "status");
    lua_getfield(LL, err, "validation_errors");
    if (!lua_istable(LL, -1))
        fail("validation_errors is not a table", kind);
    for (int i = 1; lua_rawgeti(LL, -1, i) != LUA_TNIL; i++) {
        no_secret(LL, -1, "validation_errors");
        lua_pop(LL, 1);
    }
    lua_pop(LL, 1);
    /* tostring goes through the error's __tostring */
    luaL_tolstring(LL, err, NULL);
    no_secret(LL, -1, "tostring");
}

static void check_result(lua_State *LL, int res, const wire_reply *reply)
{
    if (reply->data == WIRE_DATA_TRUE) {
        if (!lua_isboolean(LL, res) || !lua_toboolean(LL, res))
            fail("a Data = true reply gave something else", luaL_typename(LL, res));
        return;
    }
    if (!lua_istable(LL, res))
        fail("a result is not a table", luaL_typename(LL, res));
    if (reply->is_login) {
        lua_getfield(LL, res, "cs_auth_token");
        size_t len = 0;
        const char *t = lua_tolstring(LL, -1, &len);
        if (t == NULL || len == 0 || len > 4096)
            fail("a login result without a usable token", NULL);
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
                fail("a login token with a byte a header cannot carry", NULL);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "chronosheets.core", luaopen_chronosheets_core, 0);
    lua_getfield(L, -1, "use_json");
    if (lua_getupvalue(L, -1, 1) == NULL || !lua_istable(L, -1))
        fail("no state table", "use_json has no upvalue");
    lua_rawgeti(L, -1, STATE_DECODE);
    if (lua_isnil(L, -1))
        fail("lua-cjson did not load", NULL);
    lua_pop(L, 1);
    lua_pushcclosure(L, push_reply, 1);
    fuzz_fn = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    /* Exactly body + NUL, as http.c hands it over (http.h): ASan sees a
     * read past that. */
    char *body = malloc(size - 3 + 1);
    if (body == NULL)
        return 0;
    memcpy(body, data + 3, size - 3);
    body[size - 3] = '\0';
    input in = { data, size, body };
    const wire_reply *reply = &replies[data[0] % 5];
    lua_rawgeti(L, LUA_REGISTRYINDEX, fuzz_fn);
    lua_pushlightuserdata(L, &in);
    if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK)
        fail("wire_push_reply raised", lua_tostring(L, -1));
    int n = lua_gettop(L);
    if (n == 1)
        check_result(L, 1, reply);
    else if (n == 2 && lua_isnil(L, 1))
        check_error(L, 2);
    else
        fail("neither a result nor nil and an error", NULL);
    lua_settop(L, 0);
    free(body);
    return 0;
}
