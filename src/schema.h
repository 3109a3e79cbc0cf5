/* Every model of the UserProfile API in one table: for each field its wire
 * name, its Lua name and its type (WIRE.md). Pure C, no Lua: wire.c walks
 * these tables to turn replies into Lua tables and Lua tables into
 * requests. */
#ifndef CHRONOSHEETS_SCHEMA_H
#define CHRONOSHEETS_SCHEMA_H

#include <stddef.h>

typedef enum schema_type {
    SCHEMA_STRING,
    SCHEMA_INTEGER,
    SCHEMA_BOOLEAN,
    SCHEMA_DATETIME,            /* an ISO 8601 string, kept as a string */
    SCHEMA_OBJECT,              /* of field->model */
    SCHEMA_ARRAY                /* of field->item (and field->model for objects) */
} schema_type;

typedef struct schema_model schema_model;

typedef struct schema_field {
    const char *wire;
    const char *lua;
    unsigned char wire_len, lua_len;
    schema_type type;
    schema_type item;
    const schema_model *model;
} schema_field;

struct schema_model {
    const char *name;
    const schema_field *fields;
    size_t count;
};

extern const schema_model schema_do_login_request;
extern const schema_model schema_do_login_response;
extern const schema_model schema_client_side_user;
extern const schema_model schema_organisation;
extern const schema_model schema_organisation_pricing_plan;
extern const schema_model schema_user_profile;
extern const schema_model schema_update_my_profile_request;
extern const schema_model schema_update_profile_response;

const schema_field *schema_find_wire(const schema_model *model, const char *name, size_t len);
const schema_field *schema_find_lua(const schema_model *model, const char *name, size_t len);

/* The vendor SDKs' rule: "CSAuthToken" -> "cs_auth_token",
 * "AddressLine01" -> "address_line01". out needs room for 2 * len bytes;
 * returns the length written (no NUL). */
size_t schema_snake_case(const char *name, size_t len, char *out);

const char *schema_type_name(schema_type type);

#endif
