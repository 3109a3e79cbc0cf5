/* The fast path for replies: see fastpath.h. */
#include "fastpath.h"

#include <string.h>

#include <lauxlib.h>

#include "compat.h"
#include "schema.h"

/* lua-cjson then the mapper build every table twice and, for a
 * GetMyProfile reply, cost half as much again as libcurl's whole exchange
 * (callgrind: ~40,000 instructions against ~75,000). So a 2xx reply is
 * first read by this parser, which knows the schema and builds the result
 * directly from the body: tables presized, keys already in snake_case, no
 * envelope table, no copy of the body. It accepts only what lua-cjson and
 * the mapper would turn into the very same result: strict JSON without
 * escapes in strings, integers of at most 15 digits, a Succeeded Status,
 * every member of its schema type, no key twice, no deep nesting. On
 * anything else it gives up, leaving the stack as it found it, and the
 * general path runs as before, so results and error values never change.
 * It runs only with the built-in lua-cjson, never with a use_json codec. */

#define FAST_MAX_DEPTH 32       /* deeper replies take the general path */
#define FAST_NULL 1             /* a JSON null was read: nothing pushed */

typedef struct fast {
    lua_State *L;
    const char *p, *end;
} fast;

static int fast_any(fast *f, int depth);
static int fast_object(fast *f, const schema_model *model, int depth);

/* http.c ends every body with a NUL, which none of these loops takes:
 * they stop there without comparing against the end. */
static void fast_space(fast *f)
{
    while (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t')
        f->p++;
}

/* Skips whitespace, then takes c if it comes next. */
static inline int fast_take(fast *f, char c)
{
    if (*f->p != c) {
        fast_space(f);
        if (*f->p != c)
            return 0;
    }
    f->p++;
    return 1;
}

static int fast_literal(fast *f, const char *word, size_t len)
{
    if ((size_t)(f->end - f->p) < len || memcmp(f->p, word, len) != 0)
        return 0;
    f->p += len;
    return 1;
}

/* The bytes that end the plain run of a JSON string: '"', '\\' and the
 * control bytes, NUL among them. */
#define STOP4(c) [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1
static const unsigned char string_stop[256] = {
    STOP4(0), STOP4(4), STOP4(8), STOP4(12), STOP4(16), STOP4(20), STOP4(24), STOP4(28),
    ['"'] = 1, ['\\'] = 1
};

/* A string with no escape and no control byte: it is its own bytes. */
static int fast_string(fast *f, const char **s, size_t *len)
{
    if (!fast_take(f, '"'))
        return -1;
    const unsigned char *p = (const unsigned char *)f->p;
    while (!string_stop[*p])
        p++;
    if (*p != '"')
        return -1;
    *s = f->p;
    *len = (size_t)((const char *)p - f->p);
    f->p = (const char *)p + 1;
    return 0;
}

/* An integer, as lua-cjson (a double) and push_integer_of would give it:
 * 15 digits at most, so the value is exact. */
static int fast_integer(fast *f)
{
    const char *p = f->p;
    int negative = *p == '-';
    p += negative;
    const char *digits = p;
    lua_Integer v = 0;
    while (*p >= '0' && *p <= '9' && p - digits < 16)
        v = v * 10 + (*p++ - '0');
    size_t n = (size_t)(p - digits);
    if (n == 0 || n > 15 || (digits[0] == '0' && n > 1) || *p == '.' || *p == 'e' || *p == 'E')
        return -1;
    f->p = p;
    lua_pushinteger(f->L, negative ? -v : v);
    return 0;
}

/* Pushes the value of a member of the schema, of the given type. */
static int fast_field(fast *f, const schema_field *field, schema_type type, int depth)
{
    lua_State *L = f->L;
    const char *s;
    size_t len;
    fast_space(f);
    if (f->p < f->end && *f->p == 'n')
        return fast_literal(f, "null", 4) ? FAST_NULL : -1;
    switch (type) {
    case SCHEMA_STRING:
    case SCHEMA_DATETIME:
        if (fast_string(f, &s, &len) != 0)
            return -1;
        lua_pushlstring(L, s, len);
        return 0;
    case SCHEMA_BOOLEAN:
        if (fast_literal(f, "true", 4))
            lua_pushboolean(L, 1);
        else if (fast_literal(f, "false", 5))
            lua_pushboolean(L, 0);
        else
            return -1;
        return 0;
    case SCHEMA_INTEGER:
        return fast_integer(f);
    case SCHEMA_OBJECT:
        return fast_object(f, field->model, depth + 1);
    case SCHEMA_ARRAY:
        break;
    }
    /* An array of field->item; a null item takes the general path. */
    if (depth > FAST_MAX_DEPTH || !lua_checkstack(L, 4) || !fast_take(f, '['))
        return -1;
    lua_newtable(L);
    int dst = lua_gettop(L), i = 0;
    if (fast_take(f, ']'))
        return 0;
    do {
        if (fast_field(f, field, field->item, depth + 1) != 0)
            goto fail;
        lua_rawseti(L, dst, ++i);
    } while (fast_take(f, ','));
    if (fast_take(f, ']'))
        return 0;
fail:
    lua_settop(L, dst - 1);
    return -1;
}

/* The key on top of the stack is already in the table at dst. */
static int fast_exists(lua_State *L, int dst)
{
    lua_pushvalue(L, -1);
    lua_rawget(L, dst);
    int exists = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return exists;
}

/* Pushes the Lua names of model's fields as an array, made on first use
 * and kept in the state table under the model's address: lua_rawgeti on
 * it is several times cheaper than lua_pushlstring, which hashes. */
static void push_model_keys(lua_State *L, const schema_model *model)
{
    lua_rawgeti(L, STATE_INDEX, STATE_KEYS);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawseti(L, STATE_INDEX, STATE_KEYS);
    }
    lua_pushlightuserdata(L, (void *)model);
    lua_rawget(L, -2);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_createtable(L, (int)model->count, 0);
        for (size_t i = 0; i < model->count; i++) {
            lua_pushlstring(L, model->fields[i].lua, model->fields[i].lua_len);
            lua_rawseti(L, -2, (int)i + 1);
        }
        lua_pushlightuserdata(L, (void *)model);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
    }
    lua_remove(L, -2);
}

/* An object of model, or of anything when model is NULL (map_any). */
static int fast_object(fast *f, const schema_model *model, int depth)
{
    lua_State *L = f->L;
    if (depth > FAST_MAX_DEPTH || !lua_checkstack(L, 8) || !fast_take(f, '{')
        || (model != NULL && model->count > 64))
        return -1;
    int keys = lua_gettop(L) + 1;
    if (model != NULL)
        push_model_keys(L, model);
    else
        lua_pushnil(L);
    lua_createtable(L, 0, model != NULL ? (int)model->count : 0);
    int dst = lua_gettop(L), unknown = 0;
    uint64_t seen = 0;
    size_t next = 0;
    if (fast_take(f, '}'))
        goto done;
    do {
        const char *key;
        size_t len;
        if (fast_string(f, &key, &len) != 0 || !fast_take(f, ':'))
            goto fail;
        /* Replies list members in schema order, so the field after the
         * last one found is tried first. */
        const schema_field *field = NULL;
        if (model != NULL) {
            field = next < model->count && model->fields[next].wire_len == len
                    && memcmp(model->fields[next].wire, key, len) == 0
                ? &model->fields[next] : schema_find_wire(model, key, len);
            next = field != NULL ? (size_t)(field - model->fields) + 1 : next;
        }
        int rc;
        /* A key twice, or two keys with one snake_case name, would make
         * the result depend on lua-cjson's table order: general path. */
        if (field != NULL) {
            uint64_t bit = (uint64_t)1 << (field - model->fields);
            if (seen & bit)
                goto fail;
            seen |= bit;
            lua_rawgeti(L, keys, (int)next);
            if (unknown && fast_exists(L, dst))
                goto fail;
            rc = fast_field(f, field, field->type, depth);
        } else {
            char snake[256];
            if (len > sizeof snake / 2)
                goto fail;
            lua_pushlstring(L, snake, schema_snake_case(key, len, snake));
            unknown = 1;
            if (fast_exists(L, dst))
                goto fail;
            rc = fast_any(f, depth + 1);
        }
        if (rc < 0)
            goto fail;
        if (rc == FAST_NULL)
            lua_pop(L, 1);
        else
            lua_rawset(L, dst);
    } while (fast_take(f, ','));
    if (!fast_take(f, '}'))
        goto fail;
done:
    lua_remove(L, keys);
    return 0;
fail:
    lua_settop(L, keys - 1);
    return -1;
}

/* Any value outside the schema, mapped as map_any maps it. */
static int fast_any(fast *f, int depth)
{
    lua_State *L = f->L;
    const char *s;
    size_t len;
    fast_space(f);
    if (f->p >= f->end)
        return -1;
    switch (*f->p) {
    case '"':
        if (fast_string(f, &s, &len) != 0)
            return -1;
        lua_pushlstring(L, s, len);
        return 0;
    case '{':
        return fast_object(f, NULL, depth);
    case 't':
    case 'f':
    case 'n':
        if (fast_literal(f, "null", 4))
            return FAST_NULL;
        return fast_field(f, NULL, SCHEMA_BOOLEAN, depth);
    case '[':
        break;
    default:
        return fast_integer(f);
    }
    /* An array: nulls leave holes, as in map_any. */
    if (depth > FAST_MAX_DEPTH || !lua_checkstack(L, 4))
        return -1;
    f->p++;
    lua_newtable(L);
    int dst = lua_gettop(L), i = 0;
    if (fast_take(f, ']'))
        return 0;
    do {
        int rc = fast_any(f, depth + 1);
        if (rc < 0)
            goto fail;
        i++;
        if (rc == 0)
            lua_rawseti(L, dst, i);
    } while (fast_take(f, ','));
    if (fast_take(f, ']'))
        return 0;
fail:
    lua_settop(L, dst - 1);
    return -1;
}

/* Pushes the result and returns 0, or returns -1 with the stack as it was. */
int fastpath_reply(lua_State *L, const http_response *r, const wire_reply *reply)
{
    if (reply->data == WIRE_DATA_ENVELOPE || r->status < 200 || r->status >= 300)
        return -1;
    lua_rawgeti(L, STATE_INDEX, STATE_FAST);
    int enabled = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!enabled)
        return -1;
    fast f = { L, r->body, r->body + r->body_len };
    int top = lua_gettop(L), have_data = 0, succeeded = 0;
    if (!fast_take(&f, '{'))
        return -1;
    if (!fast_take(&f, '}')) {
        do {
            const char *key;
            size_t len;
            if (fast_string(&f, &key, &len) != 0 || !fast_take(&f, ':'))
                goto fail;
            if (len == 4 && memcmp(key, "Data", 4) == 0) {
                if (have_data++)
                    goto fail;
                if (reply->data == WIRE_DATA_TRUE) {
                    fast_space(&f);
                    if (!fast_literal(&f, "true", 4))
                        goto fail;
                    lua_pushboolean(L, 1);
                } else if (fast_object(&f, reply->model, 0) != 0) {
                    goto fail;
                }
            } else if (len == 6 && memcmp(key, "Status", 6) == 0) {
                const char *s;
                if (fast_string(&f, &s, &len) != 0)
                    goto fail;
                succeeded = len == 9 && memcmp(s, "Succeeded", 9) == 0;
            } else {
                int rc = fast_any(&f, 1);
                if (rc < 0)
                    goto fail;
                if (rc == 0)
                    lua_pop(L, 1);
            }
        } while (fast_take(&f, ','));
        if (!fast_take(&f, '}'))
            goto fail;
    }
    fast_space(&f);
    if (f.p != f.end || !have_data || !succeeded
        || (reply->is_login && !wire_token_usable(L, lua_gettop(L))))
        goto fail;
    return 0;
fail:
    lua_settop(L, top);
    return -1;
}

