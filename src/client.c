/* The client userdata and its methods, one per endpoint. */
#include "client.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "compat.h"
#include "http.h"
#include "multi.h"
#include "schema.h"
#include "wire.h"

#define DEFAULT_BASE_URL "https://api.chronosheets.com"
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_MAX_RESPONSE_BYTES (8 * 1024 * 1024)
#define MAX_TOKEN_BYTES 4096
#define MAX_PATH_BYTES 2048

typedef struct client {
    http_call *call;            /* NULL once closed */
    wire_buffer body;           /* request JSON, reused call after call */
    char *base_url;             /* for tostring */
    multi *multi;               /* the non-blocking calls (multi.c) */
} client;

static client *client_check(lua_State *L, int idx)
{
    client *c = luaL_checkudata(L, idx, CLIENT_MT);
    if (c->call == NULL)
        luaL_argerror(L, idx, "client is closed");
    return c;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

static const char *const option_names[] = {
    "base_url", "timeout", "connect_timeout", "low_speed_limit", "low_speed_time",
    "ca_file", "verify_tls", "proxy", "user_agent", "max_response_bytes",
    "allow_insecure_http", "max_connections", "share", NULL
};

static int option_error(lua_State *L, const char *name, const char *expected)
{
    return luaL_argerror(L, 1, lua_pushfstring(L, "option '%s' must be %s, got %s", name,
                                               expected, luaL_typename(L, -1)));
}

/* Pushes opts[name] (raw) and reports whether it is set. */
static int option_get(lua_State *L, const char *name)
{
    if (!lua_istable(L, 1)) {
        lua_pushnil(L);
        return 0;
    }
    lua_pushstring(L, name);
    lua_rawget(L, 1);
    return !lua_isnil(L, -1);
}

static const char *option_string(lua_State *L, const char *name, const char *def)
{
    if (!option_get(L, name))
        return def;
    if (lua_type(L, -1) != LUA_TSTRING)
        option_error(L, name, "a string");
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            luaL_argerror(L, 1, lua_pushfstring(L, "option '%s' holds a control character", name));
    return s;                   /* kept alive by the options table */
}

static long option_milliseconds(lua_State *L, const char *name, long def)
{
    if (!option_get(L, name))
        return def;
    if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0)
        || lua_tonumber(L, -1) > 86400.0 * 365)
        option_error(L, name, "a positive number of seconds");
    long ms = (long)(lua_tonumber(L, -1) * 1000.0 + 0.5);
    return ms > 0 ? ms : 1;
}

static long option_count(lua_State *L, const char *name, long def, long min)
{
    if (!option_get(L, name))
        return def;
    if (!cs_isinteger(L, -1) || lua_tointeger(L, -1) < min
        || lua_tointeger(L, -1) > 1024L * 1024 * 1024)
        option_error(L, name, min > 0 ? "a positive integer" : "a non-negative integer");
    return (long)lua_tointeger(L, -1);
}

static int option_boolean(lua_State *L, const char *name, int def)
{
    if (!option_get(L, name))
        return def;
    if (lua_type(L, -1) != LUA_TBOOLEAN)
        option_error(L, name, "a boolean");
    return lua_toboolean(L, -1);
}

static int is_loopback(const char *host, size_t len)
{
    if ((len == 9 && strncmp(host, "localhost", 9) == 0) || (len == 5 && strncmp(host, "[::1]", 5) == 0))
        return 1;
    if (len < 4 || strncmp(host, "127.", 4) != 0)
        return 0;
    for (size_t i = 4; i < len; i++)
        if (!(host[i] == '.' || (host[i] >= '0' && host[i] <= '9')))
            return 0;
    return 1;
}

/* Checks base_url and pushes it without its trailing slashes. */
static const char *push_base_url(lua_State *L, int allow_insecure_http)
{
    const char *url = option_string(L, "base_url", DEFAULT_BASE_URL);
    size_t len = strlen(url);
    int https = strncmp(url, "https://", 8) == 0;
    if (!https && strncmp(url, "http://", 7) != 0)
        luaL_argerror(L, 1, "option 'base_url' must start with http:// or https://");
    const char *host = url + (https ? 8 : 7);
    size_t host_len = strcspn(host, "/?#");
    if (memchr(host, '@', host_len) != NULL)
        luaL_argerror(L, 1, "option 'base_url' must not hold a user name or password");
    if (host_len == 0)
        luaL_argerror(L, 1, "option 'base_url' has no host");
    if (strpbrk(host + host_len, "?#") != NULL)
        luaL_argerror(L, 1, "option 'base_url' must not hold a query or fragment");
    size_t name_len = strcspn(host, ":/?#");
    if (host[0] == '[') {
        const char *close = memchr(host, ']', host_len);
        name_len = close != NULL ? (size_t)(close - host) + 1 : host_len;
    }
    if (!https && !allow_insecure_http && !is_loopback(host, name_len))
        luaL_argerror(L, 1, "option 'base_url' is plain http to a host other than loopback, "
                            "so the password would travel in clear; use https, or set "
                            "allow_insecure_http = true");
    while (len > 0 && url[len - 1] == '/')
        len--;
    lua_pushlstring(L, url, len);
    return lua_tostring(L, -1);
}

static void check_option_names(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        return;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        lua_pop(L, 1);
        int known = 0;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (const char *const *n = option_names; *n != NULL && !known; n++)
                known = strcmp(*n, lua_tostring(L, -1)) == 0;
        if (!known)
            luaL_argerror(L, 1, lua_pushfstring(L, "unknown option '%s'",
                                                lua_type(L, -1) == LUA_TSTRING
                                                ? lua_tostring(L, -1) : luaL_typename(L, -1)));
    }
}

/* chronosheets.core.client([options]) */
static int client_new(lua_State *L)
{
    check_option_names(L);
    lua_settop(L, 1);
    http_options o;
    int allow_insecure_http = option_boolean(L, "allow_insecure_http", 0);
    o.base_url = push_base_url(L, allow_insecure_http);
    o.timeout_ms = option_milliseconds(L, "timeout", DEFAULT_TIMEOUT_MS);
    o.connect_timeout_ms = option_milliseconds(L, "connect_timeout", DEFAULT_CONNECT_TIMEOUT_MS);
    o.low_speed_limit = option_count(L, "low_speed_limit", 0, 0);
    o.low_speed_time = option_milliseconds(L, "low_speed_time", 30000) / 1000;
    if (o.low_speed_time < 1)
        o.low_speed_time = 1;
    o.ca_file = option_string(L, "ca_file", NULL);
    o.verify_tls = option_boolean(L, "verify_tls", 1);
    o.share = option_boolean(L, "share", 0);
    o.proxy = option_string(L, "proxy", NULL);
    o.max_response_bytes = (size_t)option_count(L, "max_response_bytes",
                                                DEFAULT_MAX_RESPONSE_BYTES, 1);
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    lua_pushfstring(L, "chronosheets-lua/%s libcurl/%s", CHRONOSHEETS_VERSION, v->version);
    o.user_agent = option_string(L, "user_agent", lua_tostring(L, -1));
    long max_connections = option_count(L, "max_connections", DEFAULT_MAX_CONNECTIONS, 1);

    client *c = lua_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    char err[256];
    c->base_url = malloc(strlen(o.base_url) + 1);
    if (c->base_url == NULL)
        return luaL_error(L, "out of memory");
    strcpy(c->base_url, o.base_url);
    c->call = http_call_new(&o, err, sizeof err);
    if (c->call == NULL) {
        free(c->base_url);
        return luaL_error(L, "cannot create a client: %s", err);
    }
    c->multi = multi_new(&o, max_connections, err, sizeof err);
    if (c->multi == NULL) {
        http_call_free(c->call);
        free(c->base_url);
        return luaL_error(L, "cannot create a client: %s", err);
    }
    /* Only now that it owns its resources does the userdata get the
     * metatable, so __gc never sees a half-built client. */
    luaL_getmetatable(L, CLIENT_MT);
    lua_setmetatable(L, -2);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Calls                                                               */

/* The token at stack slot idx; errors blame argument arg (request() reads
 * it from its options table, argument 4). */
static const char *check_token(lua_State *L, int idx, int arg, size_t *len)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_argerror(L, arg, lua_pushfstring(L, "token must be a string, got %s",
                                              luaL_typename(L, idx)));
    const char *t = lua_tolstring(L, idx, len);
    if (*len == 0)
        luaL_argerror(L, arg, "token must not be empty");
    if (*len > MAX_TOKEN_BYTES)
        luaL_argerror(L, arg, "token is too long");
    /* One comparison a byte: 0x21..0x7e are the bytes a token may hold. */
    for (size_t i = 0; i < *len; i++)
        if ((unsigned char)(t[i] - 0x21) > 0x7e - 0x21)
            luaL_argerror(L, arg, "token holds a byte that cannot go into a header "
                                  "(space, CR, LF, NUL, another control character or non-ASCII)");
    return t;
}

static void add_secret(wire_secrets *s, const char *text, size_t len)
{
    for (int i = 0; i < WIRE_SECRETS; i++)
        if (s->text[i] == NULL) {
            s->text[i] = text;
            s->len[i] = len;
            return;
        }
}

/* Leaves the field's value on the stack: the secret must outlive the
 * call, and the caller's table is no anchor, since Lua code can run before
 * the reply is redacted (a use_json decode function, a __gc finalizer)
 * and may clear the field, letting the string be freed. */
static void add_secret_field(lua_State *L, wire_secrets *s, int table, const char *field)
{
    luaL_checkstack(L, 1, NULL);
    lua_pushstring(L, field);
    lua_rawget(L, table);
    if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        const char *text = lua_tolstring(L, -1, &len);
        add_secret(s, text, len);
    }
}

static int client_call(lua_State *L, client *c, const char *method, const char *path,
                       const char *token, size_t token_len, const wire_buffer *body,
                       const wire_reply *reply, const wire_secrets *secrets)
{
    lua_rawgeti(L, STATE_INDEX, STATE_DECODE);
    if (lua_isnil(L, -1))
        return luaL_error(L, "no JSON codec: install lua-cjson, or pass one to use_json");
    lua_pop(L, 1);
    if (multi_is_async(L))
        return multi_start(L, c->multi, method, path, token, token_len,
                           body != NULL ? body->data : NULL, body != NULL ? body->len : 0,
                           reply, secrets);
    if (http_call_prepare(c->call, method, path, token, token_len,
                          body != NULL ? body->data : NULL, body != NULL ? body->len : 0) != 0)
        return luaL_error(L, "out of memory preparing the request");
    http_response r;
    http_call_perform(c->call, &r);
    return wire_push_reply(L, &r, reply, secrets);
}

/* client:login{ username_or_email =, password =, remember_me = } */
static int client_login(lua_State *L)
{
    static const char *const required[] = { "username_or_email", "password", NULL };
    static const wire_reply reply = { WIRE_DATA_MODEL, &schema_do_login_response, 1 };
    client *c = client_check(L, 1);
    wire_encode_request(L, 2, &schema_do_login_request, required, &c->body);
    wire_secrets secrets = { { NULL }, { 0 } };
    add_secret_field(L, &secrets, 2, "password");
    return client_call(L, c, "PUT", "/UserProfile/DoLogin", NULL, 0, &c->body, &reply, &secrets);
}

static int client_token_call(lua_State *L, const char *method, const char *path,
                             const wire_reply *reply)
{
    client *c = client_check(L, 1);
    size_t len;
    const char *token = check_token(L, 2, 2, &len);
    wire_secrets secrets = { { NULL }, { 0 } };
    add_secret(&secrets, token, len);
    return client_call(L, c, method, path, token, len, NULL, reply, &secrets);
}

static int client_get_my_profile(lua_State *L)
{
    static const wire_reply reply = { WIRE_DATA_MODEL, &schema_user_profile, 0 };
    return client_token_call(L, "GET", "/UserProfile/GetMyProfile", &reply);
}

static int client_keep_session_alive(lua_State *L)
{
    static const wire_reply reply = { WIRE_DATA_TRUE, NULL, 0 };
    return client_token_call(L, "GET", "/UserProfile/KeepSessionAlive", &reply);
}

static int client_logout(lua_State *L)
{
    static const wire_reply reply = { WIRE_DATA_TRUE, NULL, 0 };
    return client_token_call(L, "DELETE", "/UserProfile/DoLogout", &reply);
}

/* client:update_my_profile(token, { first_name =, ... }) */
static int client_update_my_profile(lua_State *L)
{
    static const wire_reply reply = { WIRE_DATA_MODEL, &schema_update_profile_response, 0 };
    client *c = client_check(L, 1);
    size_t len;
    const char *token = check_token(L, 2, 2, &len);
    wire_encode_request(L, 3, &schema_update_my_profile_request, NULL, &c->body);
    wire_secrets secrets = { { NULL }, { 0 } };
    add_secret(&secrets, token, len);
    add_secret_field(L, &secrets, 3, "old_password");
    add_secret_field(L, &secrets, 3, "new_password");
    add_secret_field(L, &secrets, 3, "confirm_new_password");
    return client_call(L, c, "PUT", "/UserProfile/UpdateMyProfile", token, len, &c->body,
                       &reply, &secrets);
}

/* The HTTP core compares methods by address, so callers' strings are
 * mapped to these. */
static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH", NULL };

static const char *check_path(lua_State *L, int arg)
{
    size_t len;
    const char *path = luaL_checklstring(L, arg, &len);
    if (len == 0 || path[0] != '/')
        luaL_argerror(L, arg, "path must start with '/'");
    if (len > MAX_PATH_BYTES)
        luaL_argerror(L, arg, "path is too long");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)path[i] <= 0x20 || (unsigned char)path[i] >= 0x7f)
            luaL_argerror(L, arg, "path holds a space, a control character or non-ASCII "
                                  "(percent-encode it)");
    return path;
}

/* client:request(method, path [, { token =, body = }]) -> envelope */
static int client_request(lua_State *L)
{
    static const wire_reply reply = { WIRE_DATA_ENVELOPE, NULL, 0 };
    client *c = client_check(L, 1);
    const char *method = methods[luaL_checkoption(L, 2, NULL, methods)];
    const char *path = check_path(L, 3);
    const char *token = NULL;
    size_t token_len = 0;
    const wire_buffer *body = NULL;
    wire_buffer raw;
    wire_secrets secrets = { { NULL }, { 0 } };
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        lua_settop(L, 4);
        lua_pushnil(L);
        while (lua_next(L, 4) != 0) {
            lua_pop(L, 1);
            const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
            if (strcmp(k, "token") != 0 && strcmp(k, "body") != 0)
                luaL_argerror(L, 4, lua_pushfstring(L, "unknown option '%s'",
                                                    lua_type(L, -1) == LUA_TSTRING
                                                    ? k : luaL_typename(L, -1)));
        }
        /* Raw reads, like every table the caller hands us. */
        lua_pushliteral(L, "token");
        lua_rawget(L, 4);                       /* 5 */
        if (!lua_isnil(L, 5)) {
            token = check_token(L, 5, 4, &token_len);
            add_secret(&secrets, token, token_len);
        }
        lua_pushliteral(L, "body");
        lua_rawget(L, 4);                       /* 6 */
        if (lua_istable(L, 6)) {
            lua_rawgeti(L, STATE_INDEX, STATE_ENCODE);
            lua_pushvalue(L, 6);
            if (lua_pcall(L, 1, 1, 0) != 0)
                luaL_argerror(L, 4, lua_pushfstring(L, "body cannot be encoded as JSON: %s",
                                                    lua_tostring(L, -1)));
            lua_replace(L, 6);
        } else if (!lua_isnil(L, 6) && lua_type(L, 6) != LUA_TSTRING) {
            luaL_argerror(L, 4, lua_pushfstring(L, "body must be a table or a string, got %s",
                                                luaL_typename(L, 6)));
        }
        if (lua_type(L, 6) == LUA_TSTRING) {
            raw.data = (char *)lua_tolstring(L, 6, &raw.len);
            raw.cap = raw.len;
            body = &raw;
        }
    }
    return client_call(L, c, method, path, token, token_len, body, &reply, &secrets);
}

/* One idempotent close serves close, __gc and __close. */
static int client_close(lua_State *L)
{
    client *c = luaL_checkudata(L, 1, CLIENT_MT);
    multi_close(L, c->multi);
    c->multi = NULL;
    http_call_free(c->call);
    c->call = NULL;
    wire_buffer_free(&c->body);
    free(c->base_url);
    c->base_url = NULL;
    return 0;
}

multi *client_multi(lua_State *L, int idx)
{
    return client_check(L, idx)->multi;
}

static int client_tostring(lua_State *L)
{
    client *c = luaL_checkudata(L, 1, CLIENT_MT);
    if (c->call == NULL)
        lua_pushliteral(L, "chronosheets.client (closed)");
    else
        lua_pushfstring(L, "chronosheets.client (%s)", c->base_url);
    return 1;
}

static const luaL_Reg client_methods[] = {
    { "login", client_login },
    { "get_my_profile", client_get_my_profile },
    { "keep_session_alive", client_keep_session_alive },
    { "update_my_profile", client_update_my_profile },
    { "logout", client_logout },
    { "request", client_request },
    { "close", client_close },
    { NULL, NULL }
};

static const luaL_Reg client_metamethods[] = {
    { "__gc", client_close },
    { "__close", client_close },
    { "__tostring", client_tostring },
    { NULL, NULL }
};

void client_open(lua_State *L)
{
    int module = lua_gettop(L), state = module - 1;
    luaL_newmetatable(L, CLIENT_MT);
    lua_pushvalue(L, state);
    cs_setfuncs(L, client_metamethods, 1);
    lua_newtable(L);
    lua_pushvalue(L, state);
    cs_setfuncs(L, client_methods, 1);
    lua_pushvalue(L, state);                    /* multi_open wants state, methods */
    lua_pushvalue(L, -2);
    multi_open(L);
    lua_pop(L, 2);
    lua_pushvalue(L, -1);
    lua_setfield(L, module, "client_methods");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_pushvalue(L, state);
    lua_pushcclosure(L, client_new, 1);
    lua_setfield(L, module, "client");
}
