/* The HTTP core: one libcurl easy handle and its buffers, no Lua.
 *
 * A call is prepared (method, path, token, body), performed, then read.
 * The blocking client keeps one call for its whole life, so every request
 * reuses the same handle and therefore the same kept-alive connection and
 * TLS session. Nothing here touches a lua_State: curl's callbacks only
 * copy bytes into a capped buffer, so no Lua error can unwind through
 * libcurl. */
#ifndef CHRONOSHEETS_HTTP_H
#define CHRONOSHEETS_HTTP_H

#include <stddef.h>
#include <curl/curl.h>

typedef struct http_options {
    const char *base_url;        /* scheme://host[:port][/prefix], no trailing '/' */
    long timeout_ms;             /* whole request */
    long connect_timeout_ms;
    long low_speed_limit;        /* bytes per second; 0 = off */
    long low_speed_time;         /* seconds below low_speed_limit before giving up */
    const char *ca_file;         /* NULL = the system's CA bundle */
    int verify_tls;
    const char *proxy;           /* NULL = curl's usual *_proxy variables */
    const char *user_agent;
    size_t max_response_bytes;
    int share;                   /* use the process's share handle (see http.c) */
} http_options;

typedef struct http_response {
    CURLcode code;               /* CURLE_OK or why the transfer failed */
    const char *error;           /* curl's own message when code != CURLE_OK */
    int too_large;               /* the body went over max_response_bytes */
    long status;                 /* HTTP status, 0 when nothing came back */
    const char *content_type;    /* NULL when the server sent none */
    const char *body;            /* valid until the next call; body[body_len] is a
                                    NUL (the body may hold NULs itself) */
    size_t body_len;
} http_response;

typedef struct http_call http_call;

/* NULL on failure, with a reason in err. */
http_call *http_call_new(const http_options *options, char *err, size_t errlen);
void http_call_free(http_call *call);

/* Sets method, URL, headers and body on the handle without sending
 * anything. token may be NULL; body may be NULL (no body). The body is
 * copied. Returns 0, or -1 when the token holds a byte that cannot go
 * into a header (the caller is expected to have refused it already). */
int http_call_prepare(http_call *call, const char *method, const char *path,
                      const char *token, size_t token_len,
                      const char *body, size_t body_len);

/* Blocking: performs the prepared call and fills *out. */
void http_call_perform(http_call *call, http_response *out);

/* Fills *out from a transfer that ended with code (the multi interface
 * reports codes itself; http_call_perform uses this too). */
void http_call_finish(http_call *call, CURLcode code, http_response *out);

CURL *http_call_easy(http_call *call);

/* "libcurl/8.x OpenSSL/3.x ..." */
const char *http_curl_version(void);

/* Overwrites n bytes at p with zeros: for copies of tokens and passwords
 * before they are freed. */
void http_wipe(void *p, size_t n);

/* Once per process; safe to call again. */
int http_global_init(void);

#endif
