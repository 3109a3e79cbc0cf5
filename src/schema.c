/* The models of WIRE.md, one table each. */
#include "schema.h"

#include <string.h>

#define FIELD(wire, lua, type) { wire, lua, sizeof wire - 1, sizeof lua - 1, type, SCHEMA_STRING, NULL }
#define OBJECT(wire, lua, model) { wire, lua, sizeof wire - 1, sizeof lua - 1, SCHEMA_OBJECT, SCHEMA_OBJECT, &model }
#define ARRAY_OF(wire, lua, item, model) { wire, lua, sizeof wire - 1, sizeof lua - 1, SCHEMA_ARRAY, item, model }
#define MODEL(var, name, fields) const schema_model var = { name, fields, sizeof fields / sizeof fields[0] }

static const schema_field do_login_request[] = {
    FIELD("UsernameOrEmail", "username_or_email", SCHEMA_STRING),
    FIELD("Password", "password", SCHEMA_STRING),
    FIELD("RememberMe", "remember_me", SCHEMA_BOOLEAN),
};
MODEL(schema_do_login_request, "DoLoginRequest", do_login_request);

static const schema_field organisation_pricing_plan[] = {
    FIELD("PlanId", "plan_id", SCHEMA_STRING),
    FIELD("Quantity", "quantity", SCHEMA_INTEGER),
};
MODEL(schema_organisation_pricing_plan, "OrganisationPricingPlan", organisation_pricing_plan);

static const schema_field organisation[] = {
    FIELD("Id", "id", SCHEMA_INTEGER),
    FIELD("Name", "name", SCHEMA_STRING),
    FIELD("AddressLine01", "address_line01", SCHEMA_STRING),
    FIELD("AddressLine02", "address_line02", SCHEMA_STRING),
    FIELD("Suburb", "suburb", SCHEMA_STRING),
    FIELD("State", "state", SCHEMA_STRING),
    FIELD("Postcode", "postcode", SCHEMA_STRING),
    FIELD("Country", "country", SCHEMA_STRING),
    FIELD("Phone", "phone", SCHEMA_STRING),
    FIELD("EmailAddress", "email_address", SCHEMA_STRING),
    FIELD("Timezone", "timezone", SCHEMA_STRING),
    FIELD("SubscriptionCustomerId", "subscription_customer_id", SCHEMA_STRING),
    FIELD("SignupToken", "signup_token", SCHEMA_STRING),
    FIELD("IsActive", "is_active", SCHEMA_BOOLEAN),
    FIELD("StripeCouponCode", "stripe_coupon_code", SCHEMA_STRING),
    FIELD("SubscriptionSource", "subscription_source", SCHEMA_STRING),
    FIELD("SignUpSource", "sign_up_source", SCHEMA_STRING),
    FIELD("MobileSignUpCode", "mobile_sign_up_code", SCHEMA_STRING),
    FIELD("SubscriptionCycleStart", "subscription_cycle_start", SCHEMA_DATETIME),
    FIELD("SubscriptionCycleEnd", "subscription_cycle_end", SCHEMA_DATETIME),
    ARRAY_OF("PricingPlans", "pricing_plans", SCHEMA_OBJECT, &schema_organisation_pricing_plan),
};
MODEL(schema_organisation, "Organisation", organisation);

static const schema_field client_side_user[] = {
    FIELD("Id", "id", SCHEMA_INTEGER),
    FIELD("OrganisationId", "organisation_id", SCHEMA_INTEGER),
    FIELD("UserName", "user_name", SCHEMA_STRING),
    FIELD("FirstName", "first_name", SCHEMA_STRING),
    FIELD("LastName", "last_name", SCHEMA_STRING),
    FIELD("EmailAddress", "email_address", SCHEMA_STRING),
    FIELD("Roles", "roles", SCHEMA_INTEGER),
    FIELD("AlertSettings", "alert_settings", SCHEMA_INTEGER),
    FIELD("SetupWizardRequired", "setup_wizard_required", SCHEMA_BOOLEAN),
    FIELD("IsSubscribedToNewsletter", "is_subscribed_to_newsletter", SCHEMA_BOOLEAN),
    OBJECT("Organisation", "organisation", schema_organisation),
    FIELD("IsPrimaryAccount", "is_primary_account", SCHEMA_BOOLEAN),
};
MODEL(schema_client_side_user, "ClientSideUser", client_side_user);

static const schema_field do_login_response[] = {
    FIELD("CSAuthToken", "cs_auth_token", SCHEMA_STRING),
    OBJECT("LoggedInUser", "logged_in_user", schema_client_side_user),
};
MODEL(schema_do_login_response, "DoLoginResponse", do_login_response);

static const schema_field user_profile[] = {
    FIELD("Id", "id", SCHEMA_INTEGER),
    FIELD("OrganisationId", "organisation_id", SCHEMA_INTEGER),
    FIELD("UserName", "user_name", SCHEMA_STRING),
    FIELD("FirstName", "first_name", SCHEMA_STRING),
    FIELD("LastName", "last_name", SCHEMA_STRING),
    FIELD("EmailAddress", "email_address", SCHEMA_STRING),
    FIELD("IsSubscribedToNewsletter", "is_subscribed_to_newsletter", SCHEMA_BOOLEAN),
    FIELD("Roles", "roles", SCHEMA_INTEGER),
    FIELD("AlertSettings", "alert_settings", SCHEMA_INTEGER),
    FIELD("OrganisationName", "organisation_name", SCHEMA_STRING),
    FIELD("OrganisationSuburb", "organisation_suburb", SCHEMA_STRING),
    FIELD("OrganisationCountry", "organisation_country", SCHEMA_STRING),
};
MODEL(schema_user_profile, "UserProfile", user_profile);

static const schema_field update_my_profile_request[] = {
    FIELD("EmailAddress", "email_address", SCHEMA_STRING),
    FIELD("FirstName", "first_name", SCHEMA_STRING),
    FIELD("LastName", "last_name", SCHEMA_STRING),
    FIELD("OldPassword", "old_password", SCHEMA_STRING),
    FIELD("NewPassword", "new_password", SCHEMA_STRING),
    FIELD("ConfirmNewPassword", "confirm_new_password", SCHEMA_STRING),
    FIELD("IsSubscribedToNewsletter", "is_subscribed_to_newsletter", SCHEMA_BOOLEAN),
    FIELD("WantsToChangePassword", "wants_to_change_password", SCHEMA_BOOLEAN),
};
MODEL(schema_update_my_profile_request, "UpdateMyProfileRequest", update_my_profile_request);

static const schema_field update_profile_response[] = {
    FIELD("OrganisationId", "organisation_id", SCHEMA_INTEGER),
    FIELD("UserId", "user_id", SCHEMA_INTEGER),
    ARRAY_OF("ValidationErrors", "validation_errors", SCHEMA_STRING, NULL),
};
MODEL(schema_update_profile_response, "UpdateProfileResponse", update_profile_response);

/* Models have at most a couple of dozen fields: a length check then a
 * memcmp beats hashing at this size. */
const schema_field *schema_find_wire(const schema_model *model, const char *name, size_t len)
{
    for (size_t i = 0; i < model->count; i++) {
        const schema_field *f = &model->fields[i];
        if (f->wire_len == len && memcmp(f->wire, name, len) == 0)
            return f;
    }
    return NULL;
}

const schema_field *schema_find_lua(const schema_model *model, const char *name, size_t len)
{
    for (size_t i = 0; i < model->count; i++) {
        const schema_field *f = &model->fields[i];
        if (f->lua_len == len && memcmp(f->lua, name, len) == 0)
            return f;
    }
    return NULL;
}

static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static int is_lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* An underscore goes before an upper-case letter that follows a lower-case
 * letter or digit ("userName"), and before the last capital of a run that
 * starts a new word ("CSAuth" -> "cs_auth"). Digits stay with the word
 * before them ("AddressLine01" -> "address_line01"). */
size_t schema_snake_case(const char *name, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (is_upper(c)) {
            int after_word = i > 0 && is_lower_or_digit(name[i - 1]);
            int ends_acronym = i > 0 && is_upper(name[i - 1])
                               && i + 1 < len && name[i + 1] >= 'a' && name[i + 1] <= 'z';
            if ((after_word || ends_acronym) && n > 0 && out[n - 1] != '_')
                out[n++] = '_';
            out[n++] = (char)(c - 'A' + 'a');
        } else {
            out[n++] = c;
        }
    }
    return n;
}

const char *schema_type_name(schema_type type)
{
    switch (type) {
    case SCHEMA_STRING: return "string";
    case SCHEMA_INTEGER: return "integer";
    case SCHEMA_BOOLEAN: return "boolean";
    case SCHEMA_DATETIME: return "date-time string";
    case SCHEMA_OBJECT: return "object";
    case SCHEMA_ARRAY: return "array";
    }
    return "?";
}
