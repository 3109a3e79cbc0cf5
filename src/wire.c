/* Between the wire and Lua: see wire.h. */
#include "wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "compat.h"
#include "fastpath.h"

#define MAX_FIELD_BYTES 65536   /* one string field of a request */
#define MAX_DEPTH 64            /* nesting of a reply we are willing to map */
#define SNIPPET_BYTES 160       /* how much of an unexpected body an error shows */
#define MAX_TOKEN_BYTES 4096
#define MIN_SECRET_PIECE 4      /* a piece of a secret this long is hidden too */

/* ------------------------------------------------------------------ */
/* Buffers                                                             */

void wire_buffer_free(wire_buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void buffer_add(lua_State *L, wire_buffer *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        while (cap < b->len + n)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (data == NULL)
            luaL_error(L, "out of memory");
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

#define buffer_literal(L, b, s) buffer_add((L), (b), (s), sizeof(s) - 1)

/* ------------------------------------------------------------------ */
/* Requests                                                            */

int wire_valid_utf8(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    while (s < end) {
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t n;
        unsigned min, cp;
        if ((c & 0xE0) == 0xC0) { n = 1; min = 0x80; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { n = 2; min = 0x800; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { n = 3; min = 0x10000; cp = c & 0x07; }
        else return 0;
        if ((size_t)(end - s) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        /* overlong forms, UTF-16 surrogates and code points past Unicode */
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        s += n + 1;
    }
    return 1;
}

static void buffer_json_string(lua_State *L, wire_buffer *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    buffer_literal(L, b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buffer_add(L, b, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': buffer_literal(L, b, "\\\""); break;
        case '\\': buffer_literal(L, b, "\\\\"); break;
        case '\n': buffer_literal(L, b, "\\n"); break;
        case '\r': buffer_literal(L, b, "\\r"); break;
        case '\t': buffer_literal(L, b, "\\t"); break;
        default: {
            char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            buffer_add(L, b, u, sizeof u);
        }
        }
    }
    buffer_add(L, b, s + start, len - start);
    buffer_literal(L, b, "\"");
}

static int field_error(lua_State *L, int arg, const schema_field *f, const char *what)
{
    return luaL_argerror(L, arg, lua_pushfstring(L, "field '%s' %s", f->lua, what));
}

static int is_required(const char *const *required, const schema_field *f)
{
    for (; required != NULL && *required != NULL; required++)
        if (strcmp(*required, f->lua) == 0)
            return 1;
    return 0;
}

/* The value of field f is on top of the stack. */
static void encode_field(lua_State *L, int arg, const schema_field *f, wire_buffer *b)
{
    int t = lua_type(L, -1);
    switch (f->type) {
    case SCHEMA_STRING:
    case SCHEMA_DATETIME: {
        if (t != LUA_TSTRING)
            field_error(L, arg, f, lua_pushfstring(L, "must be a string, got %s", luaL_typename(L, -1)));
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (len > MAX_FIELD_BYTES)
            field_error(L, arg, f, lua_pushfstring(L, "is too long (%d bytes; at most %d)", (int)len, MAX_FIELD_BYTES));
        if (!wire_valid_utf8(s, len))
            field_error(L, arg, f, "is not valid UTF-8");
        buffer_json_string(L, b, s, len);
        break;
    }
    case SCHEMA_BOOLEAN:
        if (t != LUA_TBOOLEAN)
            field_error(L, arg, f, lua_pushfstring(L, "must be a boolean, got %s", luaL_typename(L, -1)));
        if (lua_toboolean(L, -1))
            buffer_literal(L, b, "true");
        else
            buffer_literal(L, b, "false");
        break;
    case SCHEMA_INTEGER:
        if (!cs_isinteger(L, -1))
            field_error(L, arg, f, lua_pushfstring(L, "must be an integer, got %s", luaL_typename(L, -1)));
        {
            char n[32];
            int len = snprintf(n, sizeof n, "%lld", (long long)lua_tointeger(L, -1));
            buffer_add(L, b, n, (size_t)len);
        }
        break;
    default:
        /* no request model has nested members */
        field_error(L, arg, f, "has a type requests do not support");
    }
}

void wire_encode_request(lua_State *L, int arg, const schema_model *model,
                         const char *const *required, wire_buffer *b)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    /* First every key must be a field of the model, so a typo such as
     * "frist_name" is caught even though nothing reads it. */
    lua_pushnil(L);
    while (lua_next(L, arg) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, arg, lua_pushfstring(L, "keys must be field names, got a %s key",
                                                  luaL_typename(L, -1)));
        size_t len;
        const char *key = lua_tolstring(L, -1, &len);
        if (schema_find_lua(model, key, len) == NULL)
            luaL_argerror(L, arg, lua_pushfstring(L, "unknown field '%s'", key));
    }
    /* Then the fields in schema order, so the same table always gives the
     * same bytes. */
    b->len = 0;
    buffer_literal(L, b, "{");
    int first = 1;
    for (size_t i = 0; i < model->count; i++) {
        const schema_field *f = &model->fields[i];
        lua_pushstring(L, f->lua);
        lua_rawget(L, arg);
        if (lua_isnil(L, -1)) {
            if (is_required(required, f))
                luaL_argerror(L, arg, lua_pushfstring(L, "missing field '%s'", f->lua));
            lua_pop(L, 1);
            continue;
        }
        if (is_required(required, f) && lua_type(L, -1) == LUA_TSTRING && cs_rawlen(L, -1) == 0)
            field_error(L, arg, f, "must not be empty");
        if (!first)
            buffer_literal(L, b, ",");
        first = 0;
        buffer_json_string(L, b, f->wire, f->wire_len);
        buffer_literal(L, b, ":");
        encode_field(L, arg, f, b);
        lua_pop(L, 1);
    }
    buffer_literal(L, b, "}");
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */

/* How many bytes at s (left of them) are secret t, or 0. A secret that
 * holds NUL bytes is also matched piece by piece (pieces of 4 bytes or
 * more), since a message, a C string, stops at its first NUL and would
 * show the piece before it. */
static size_t redact_at(const char *s, size_t left, const char *t, size_t n)
{
    if (n <= left && memcmp(s, t, n) == 0)
        return n;
    if (memchr(t, '\0', n) == NULL)
        return 0;
    for (size_t start = 0; start < n;) {
        const char *nul = memchr(t + start, '\0', n - start);
        size_t piece = (nul != NULL ? (size_t)(nul - t) : n) - start;
        if (piece >= MIN_SECRET_PIECE && piece <= left && memcmp(s, t + start, piece) == 0)
            return piece;
        start += piece + 1;
    }
    return 0;
}

/* Replaces every occurrence of each secret in s with "***". */
static void push_redacted(lua_State *L, const char *s, const wire_secrets *secrets)
{
    luaL_Buffer out;
    size_t len = strlen(s);
    luaL_buffinit(L, &out);
    size_t i = 0;
    while (i < len) {
        size_t match = 0;
        for (int k = 0; secrets != NULL && k < WIRE_SECRETS && match == 0; k++)
            if (secrets->text[k] != NULL && secrets->len[k] > 0)
                match = redact_at(s + i, len - i, secrets->text[k], secrets->len[k]);
        if (match > 0) {
            luaL_addstring(&out, "***");
            i += match;
        } else {
            luaL_addchar(&out, s[i]);
            i++;
        }
    }
    luaL_pushresult(&out);
}

static void push_state(lua_State *L, int slot)
{
    lua_rawgeti(L, STATE_INDEX, slot);
}

int wire_push_error(lua_State *L, const char *kind, const char *status, long http_status,
                    const char *message, const wire_secrets *secrets)
{
    lua_pushnil(L);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    if (status != NULL) {
        push_redacted(L, status, secrets);
        lua_setfield(L, -2, "status");
    }
    push_redacted(L, message, secrets);
    lua_setfield(L, -2, "message");
    if (http_status > 0) {
        lua_pushinteger(L, (lua_Integer)http_status);
        lua_setfield(L, -2, "http_status");
    }
    lua_newtable(L);
    lua_setfield(L, -2, "validation_errors");
    push_state(L, STATE_ERROR_MT);
    lua_setmetatable(L, -2);
    return 2;
}

/* "chronosheets api error (SessionExpired, HTTP 401): Your session has expired"
 * "chronosheets http error: HTTP 502 (text/html): <html>..." */
static int error_tostring(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);           /* the fields below go to 2..6 */
    lua_getfield(L, 1, "kind");
    lua_getfield(L, 1, "status");
    lua_getfield(L, 1, "http_status");
    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "validation_errors");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "chronosheets %s error", lua_isstring(L, 2) ? lua_tostring(L, 2) : "?");
    luaL_addvalue(&b);
    /* Only an api error needs its statuses here: the other kinds' messages
     * carry the HTTP status and content type already. */
    int has_status = lua_isstring(L, 3), has_http = has_status && lua_isnumber(L, 4);
    if (has_status) {
        luaL_addstring(&b, " (");
        if (has_status)
            luaL_addstring(&b, lua_tostring(L, 3));
        if (has_status && has_http)
            luaL_addstring(&b, ", ");
        if (has_http) {
            lua_pushfstring(L, "HTTP %d", (int)lua_tointeger(L, 4));
            luaL_addvalue(&b);
        }
        luaL_addstring(&b, ")");
    }
    if (lua_isstring(L, 5) && cs_rawlen(L, 5) > 0) {
        luaL_addstring(&b, ": ");
        lua_pushvalue(L, 5);
        luaL_addvalue(&b);
    }
    if (lua_istable(L, 6)) {
        size_t n = cs_rawlen(L, 6);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, 6, (int)i);
            if (lua_isstring(L, -1)) {
                /* Nothing but the buffer's own box may sit on top when
                 * luaL_addstring runs: it grows the box it finds there.
                 * The separator goes in with the item, as one value. */
                lua_pushstring(L, i == 1 ? ": " : "; ");
                lua_insert(L, -2);
                lua_concat(L, 2);
                luaL_addvalue(&b);
            } else {
                lua_pop(L, 1);
            }
        }
    }
    luaL_pushresult(&b);
    return 1;
}

void wire_open_error(lua_State *L)
{
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "chronosheets.error");
    lua_setfield(L, -2, "__name");
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

typedef struct mapper {
    lua_State *L;
    char error[256];            /* why the reply does not fit the schema */
} mapper;

static int is_null(lua_State *L, int idx)
{
    if (lua_isnil(L, idx))
        return 1;
    push_state(L, STATE_NULL);
    int same = lua_rawequal(L, idx, -1);
    lua_pop(L, 1);
    return same;
}

static const char *json_type_name(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TTABLE: return "object or array";
    case LUA_TNUMBER: return "number";
    case LUA_TSTRING: return "string";
    case LUA_TBOOLEAN: return "boolean";
    default: return is_null(L, idx) ? "null" : luaL_typename(L, idx);
    }
}

/* Lua 5.3+ gets an integer for a float that holds one exactly: lua-cjson
 * 2.1 decodes every JSON number as a float. */
static int push_integer_of(lua_State *L, int idx)
{
    lua_Number n = lua_tonumber(L, idx);
    if (!(n >= -9007199254740992.0 && n <= 9007199254740992.0) || n != (lua_Number)(lua_Integer)n)
        return 0;
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

static void push_snake_key(lua_State *L, int idx)
{
    size_t len;
    const char *key = lua_tolstring(L, idx, &len);
    char small[256];
    char *out = len * 2 <= sizeof small ? small : lua_newuserdata(L, len * 2);
    size_t n = schema_snake_case(key, len, out);
    lua_pushlstring(L, out, n);
    if (out != small)
        lua_remove(L, -2);
}

/* A member the schema does not know: keys to snake_case, nulls dropped,
 * integral numbers to integers, all the way down. */
static int map_any(mapper *m, int src, int depth)
{
    lua_State *L = m->L;
    if (depth > MAX_DEPTH) {
        snprintf(m->error, sizeof m->error, "reply nested deeper than %d levels", MAX_DEPTH);
        return -1;
    }
    switch (lua_type(L, src)) {
    case LUA_TTABLE:
        break;
    case LUA_TNUMBER:
        if (!push_integer_of(L, src))
            lua_pushvalue(L, src);
        return 0;
    default:
        lua_pushvalue(L, src);
        return 0;
    }
    if (!lua_checkstack(L, 6)) {
        snprintf(m->error, sizeof m->error, "reply nested too deeply for the Lua stack");
        return -1;
    }
    lua_newtable(L);
    int dst = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, src) != 0) {
        int val = lua_gettop(L), key = val - 1;
        if (is_null(L, val)) {
            lua_pop(L, 1);
            continue;
        }
        if (lua_type(L, key) == LUA_TSTRING)
            push_snake_key(L, key);
        else
            lua_pushvalue(L, key);
        if (map_any(m, val, depth + 1) != 0) {
            lua_settop(L, dst - 1);
            return -1;
        }
        lua_rawset(L, dst);
        lua_pop(L, 1);
    }
    return 0;
}

static int map_model(mapper *m, int src, const schema_model *model, int depth);

static int mismatch(mapper *m, const schema_model *model, const schema_field *f, int idx,
                    const char *expected)
{
    snprintf(m->error, sizeof m->error, "member %s of %s should be %s, got %s",
             f->wire, model->name, expected, json_type_name(m->L, idx));
    return -1;
}

/* Pushes the Lua value of a known member (at idx) of type f->type. */
static int map_field(mapper *m, int idx, const schema_model *model, const schema_field *f,
                     schema_type type, const schema_model *sub, int depth)
{
    lua_State *L = m->L;
    switch (type) {
    case SCHEMA_STRING:
    case SCHEMA_DATETIME:
        if (lua_type(L, idx) != LUA_TSTRING)
            return mismatch(m, model, f, idx, "a string");
        lua_pushvalue(L, idx);
        return 0;
    case SCHEMA_BOOLEAN:
        if (lua_type(L, idx) != LUA_TBOOLEAN)
            return mismatch(m, model, f, idx, "a boolean");
        lua_pushvalue(L, idx);
        return 0;
    case SCHEMA_INTEGER:
        if (lua_type(L, idx) != LUA_TNUMBER || !push_integer_of(L, idx))
            return mismatch(m, model, f, idx, "an integer");
        return 0;
    case SCHEMA_OBJECT:
        if (lua_type(L, idx) != LUA_TTABLE)
            return mismatch(m, model, f, idx, "an object");
        return map_model(m, idx, sub, depth + 1);
    case SCHEMA_ARRAY: {
        if (lua_type(L, idx) != LUA_TTABLE)
            return mismatch(m, model, f, idx, "an array");
        size_t n = cs_rawlen(L, idx), count = 0;
        lua_pushnil(L);
        while (lua_next(L, idx) != 0) {
            lua_pop(L, 1);
            count++;
        }
        if (count != n)
            return mismatch(m, model, f, idx, "an array");
        lua_createtable(L, (int)n, 0);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, (int)i);
            int item = lua_gettop(L);
            if (map_field(m, item, model, f, f->item, f->model, depth + 1) != 0) {
                lua_settop(L, item - 2);
                return -1;
            }
            lua_rawseti(L, item - 1, (int)i);
            lua_pop(L, 1);
        }
        return 0;
    }
    }
    return -1;
}

static int map_model(mapper *m, int src, const schema_model *model, int depth)
{
    lua_State *L = m->L;
    if (depth > MAX_DEPTH || !lua_checkstack(L, 8)) {
        snprintf(m->error, sizeof m->error, "reply nested deeper than %d levels", MAX_DEPTH);
        return -1;
    }
    lua_createtable(L, 0, (int)model->count);
    int dst = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, src) != 0) {
        int val = lua_gettop(L), key = val - 1;
        if (is_null(L, val)) {
            lua_pop(L, 1);
            continue;
        }
        const schema_field *f = NULL;
        if (lua_type(L, key) == LUA_TSTRING) {
            size_t len;
            const char *name = lua_tolstring(L, key, &len);
            f = schema_find_wire(model, name, len);
        }
        int rc;
        if (f != NULL) {
            lua_pushstring(L, f->lua);
            rc = map_field(m, val, model, f, f->type, f->model, depth);
        } else {
            if (lua_type(L, key) == LUA_TSTRING)
                push_snake_key(L, key);
            else
                lua_pushvalue(L, key);
            rc = map_any(m, val, depth + 1);
        }
        if (rc != 0) {
            lua_settop(L, dst - 1);
            return -1;
        }
        lua_rawset(L, dst);
        lua_pop(L, 1);
    }
    return 0;
}

/* Pushes a printable excerpt of the body: control bytes become '.'. */
/* How many bytes at p (left of them) are secret s, written raw (escaped
 * 0) or JSON-escaped (1: \" \\ \n \r \t \b \f, \u00XX for other control
 * bytes; 2: the same and \/ for /, as lua-cjson writes); 0 if none. A body that ends partway through a secret (a reply cut short
 * while echoing it) counts once 4 bytes or more of it are there. */
static size_t secret_match(const char *p, size_t left, const char *s, size_t n, int escaped)
{
    size_t at = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        char esc[8];
        size_t m = 1;
        esc[0] = (char)c;
        if ((escaped && (c == '"' || c == '\\')) || (escaped == 2 && c == '/')) {
            esc[0] = '\\', esc[1] = (char)c, m = 2;
        } else if (escaped && c < 0x20) {
            const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
                              : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (named != NULL)
                memcpy(esc, named, m = 2);
            else
                m = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
        }
        if (at + m > left) {
            size_t rest = left - at;
            return left >= MIN_SECRET_PIECE && memcmp(p + at, esc, rest) == 0 ? left : 0;
        }
        if (memcmp(p + at, esc, m) != 0)
            return 0;
        at += m;
    }
    return at;
}

static size_t secret_at(const char *p, size_t left, const wire_secrets *secrets)
{
    for (int k = 0; secrets != NULL && k < WIRE_SECRETS; k++) {
        if (secrets->text[k] == NULL || secrets->len[k] == 0)
            continue;
        for (int escaped = 0; escaped <= 2; escaped++) {
            size_t m = secret_match(p, left, secrets->text[k], secrets->len[k], escaped);
            if (m > 0)
                return m;
        }
    }
    return 0;
}

/* The first SNIPPET_BYTES of an unexpected body, for a message: control
 * bytes shown as '.', and each secret hidden as "***". Secrets are looked
 * for in the raw bytes before anything is cut or replaced, so neither the
 * cut nor the replacement can let a piece of one through. */
static const char *push_snippet(lua_State *L, const http_response *r, const wire_secrets *secrets)
{
    luaL_Buffer out;
    luaL_buffinit(L, &out);
    size_t i = 0, shown = 0;
    while (i < r->body_len && shown < SNIPPET_BYTES) {
        size_t m = secret_at(r->body + i, r->body_len - i, secrets);
        if (m > 0) {
            luaL_addstring(&out, "***");
            i += m;
            shown += 3;
            continue;
        }
        unsigned char c = (unsigned char)r->body[i++];
        luaL_addchar(&out, (c < 0x20 || c == 0x7f) ? '.' : (char)c);
        shown++;
    }
    if (i < r->body_len)
        luaL_addstring(&out, "...");
    luaL_pushresult(&out);
    return lua_tostring(L, -1);
}

static const char *content_type(const http_response *r)
{
    return r->content_type != NULL ? r->content_type : "no content type";
}

/* A reply that is not a usable envelope: "http" for an error status (a
 * proxy's HTML page, an unknown path), "decode" when a 2xx carried
 * something unreadable. An "http" error shows the reply's Message when it
 * is a JSON object with one (envelope > 0), else the first bytes. */
static int push_unusable(lua_State *L, const http_response *r, const char *why, int envelope,
                         const wire_secrets *secrets)
{
    const char *body = NULL;
    if (r->status >= 300 && envelope > 0) {
        lua_getfield(L, envelope, "Message");
        body = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    }
    if (body == NULL)
        body = r->body_len == 0 ? "empty body" : push_snippet(L, r, secrets);
    const char *msg = r->status >= 300
        ? lua_pushfstring(L, "HTTP %d (%s): %s", (int)r->status, content_type(r), body)
        : lua_pushfstring(L, "%s (HTTP %d, %s): %s", why, (int)r->status, content_type(r), body);
    return wire_push_error(L, r->status >= 300 ? "http" : "decode", NULL, r->status, msg, secrets);
}

static int push_api_error(lua_State *L, int envelope, const http_response *r,
                          const wire_secrets *secrets)
{
    int status = lua_gettop(L) + 1;
    lua_getfield(L, envelope, "Status");
    lua_getfield(L, envelope, "Message");
    const char *message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    wire_push_error(L, "api", lua_tostring(L, status), r->status, message, secrets);
    int err = lua_gettop(L);
    /* ValidationErrors, when Data carries them, are the useful part. */
    lua_getfield(L, envelope, "Data");
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "ValidationErrors");
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_getfield(L, err, "validation_errors");
            size_t n = cs_rawlen(L, -2), out = 0;
            for (size_t i = 1; i <= n; i++) {
                lua_rawgeti(L, -2, (int)i);
                if (lua_type(L, -1) == LUA_TSTRING) {
                    push_redacted(L, lua_tostring(L, -1), secrets);
                    lua_rawseti(L, -3, (int)++out);
                }
                lua_pop(L, 1);
            }
        }
    }
    lua_settop(L, err);
    return 2;
}

/* Moves the n values on top of the stack down to base + 1, dropping what
 * was between (the envelope, scratch strings); returns n. */
static int keep_results(lua_State *L, int base, int n)
{
    int top = lua_gettop(L);
    for (int i = 0; i < n; i++) {
        lua_pushvalue(L, top - n + 1 + i);
        lua_replace(L, base + 1 + i);
    }
    lua_settop(L, base + n);
    return n;
}

int wire_token_usable(lua_State *L, int result)
{
    lua_getfield(L, result, "cs_auth_token");
    size_t len = 0;
    const char *t = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    lua_pop(L, 1);
    if (t == NULL || len == 0 || len > MAX_TOKEN_BYTES)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
            return 0;
    return 1;
}

int wire_push_reply(lua_State *L, const http_response *r, const wire_reply *reply,
                    const wire_secrets *secrets)
{
    if (r->code != CURLE_OK) {
        const char *msg = r->too_large
            ? "the reply is larger than max_response_bytes"
            : r->error;
        int n = wire_push_error(L, "transport", NULL, r->status, msg, secrets);
        lua_pushinteger(L, (lua_Integer)r->code);
        lua_setfield(L, -2, "curl_code");
        return n;
    }
    int base = lua_gettop(L);
    /* keep_results: push_unusable leaves its message under the two values */
    if (r->body_len == 0)
        return keep_results(L, base, push_unusable(L, r, "the reply has no body", 0, secrets));

    if (fastpath_reply(L, r, reply) == 0)
        return 1;
    push_state(L, STATE_DECODE);
    lua_pushlstring(L, r->body, r->body_len);
    if (lua_pcall(L, 1, 1, 0) != 0) {
        const char *why = lua_pushfstring(L, "the reply is not JSON (%s)",
                                          lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
        return keep_results(L, base, push_unusable(L, r, why, 0, secrets));
    }
    int envelope = base + 1;
    int n;
    if (lua_type(L, envelope) != LUA_TTABLE || cs_rawlen(L, envelope) > 0) {
        n = push_unusable(L, r, "the reply is not a JSON object", 0, secrets);
    } else {
        lua_getfield(L, envelope, "Status");
        int status_type = lua_type(L, -1);
        int succeeded = status_type == LUA_TSTRING && strcmp(lua_tostring(L, -1), "Succeeded") == 0;
        lua_pop(L, 1);
        if (status_type != LUA_TSTRING)
            n = push_unusable(L, r, "the reply has no Status string", envelope, secrets);
        else if (!succeeded)
            n = push_api_error(L, envelope, r, secrets);
        else if (r->status < 200 || r->status >= 300)
            n = push_unusable(L, r, "a Succeeded reply with an error status", envelope, secrets);
        else {
            mapper m = { L, "" };
            int rc;
            lua_getfield(L, envelope, "Data");
            int data = lua_gettop(L);
            switch (reply->data) {
            case WIRE_DATA_ENVELOPE:
                rc = map_any(&m, envelope, 0);
                break;
            case WIRE_DATA_TRUE:
                rc = lua_type(L, data) == LUA_TBOOLEAN && lua_toboolean(L, data) ? 0 : -1;
                if (rc == 0)
                    lua_pushboolean(L, 1);
                else
                    snprintf(m.error, sizeof m.error, "Data should be true, got %s",
                             lua_type(L, data) == LUA_TBOOLEAN ? "false" : json_type_name(L, data));
                break;
            default:
                if (lua_type(L, data) != LUA_TTABLE) {
                    snprintf(m.error, sizeof m.error, "Data should be %s, got %s",
                             reply->model->name, json_type_name(L, data));
                    rc = -1;
                } else {
                    rc = map_model(&m, data, reply->model, 0);
                }
                if (rc == 0 && reply->is_login && !wire_token_usable(L, lua_gettop(L))) {
                    snprintf(m.error, sizeof m.error,
                             "the login reply has no usable CSAuthToken (missing, empty, "
                             "over %d bytes, or holding spaces or control characters)",
                             MAX_TOKEN_BYTES);
                    rc = -1;
                }
            }
            if (rc != 0) {
                lua_settop(L, data);
                n = push_unusable(L, r, m.error, 0, secrets);
            } else {
                n = 1;
            }
        }
    }
    return keep_results(L, base, n);
}
