/* The HTTP core over libcurl: see http.h. */
#include "http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_HEADER "x-chronosheets-auth: "
/* Small: a non-blocking call has buffers of its own, and a token or a
 * URL needs far less than a reply. */
#define INITIAL_BUFFER 256
#define KEEP_RESPONSE_BYTES 65536

/* used is the most bytes ever written (NUL included), so that a wipe
 * covers what may hold a secret and no more. */
typedef struct buffer {
    char *data;
    size_t len, cap, used;
} buffer;

struct http_call {
    CURL *easy;
    size_t max_response_bytes;
    int too_large;
    buffer response;
    buffer request;
    buffer url;                 /* base_url, then the path of each call */
    size_t base_len;
    CURLU *curlu;               /* url, parsed (see http_call_prepare) */
    /* The header list is rebuilt only when what it holds changes (a new
     * token, or body/no body), so a session that repeats the same call
     * builds it once. The token copy is wiped before it is freed. */
    struct curl_slist *headers;
    int headers_have_body;
    buffer headers_token;
    char *user_agent_header;    /* see http_call_new; NULL when not in the list */
    int shared;                 /* holds a reference to the share handle */
    const char *last_method;    /* static strings, compared by address */
    char errbuf[CURL_ERROR_SIZE];
};

/* volatile, so the compiler cannot drop the stores as dead. */
void http_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static int buffer_reserve(buffer *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : INITIAL_BUFFER;
    while (cap < need)
        cap *= 2;
    /* Not realloc: it may free the old block unwiped, and these buffers
     * hold tokens and passwords. Growth is rare (capacities double and
     * are kept), so the copy costs nothing that matters. */
    char *data = malloc(cap);
    if (data == NULL)
        return -1;
    if (b->data != NULL) {
        memcpy(data, b->data, b->used);
        http_wipe(b->data, b->used);
        free(b->data);
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static void buffer_written(buffer *b)
{
    if (b->len + 1 > b->used)
        b->used = b->len + 1;
}

static int buffer_set(buffer *b, size_t at, const char *s, size_t n)
{
    if (buffer_reserve(b, at + n + 1) != 0)
        return -1;
    memcpy(b->data + at, s, n);
    b->len = at + n;
    b->data[b->len] = '\0';
    buffer_written(b);
    return 0;
}

static void buffer_free(buffer *b, int secret)
{
    if (b->data != NULL && secret)
        http_wipe(b->data, b->used);
    free(b->data);
    b->data = NULL;
    b->len = b->cap = b->used = 0;
}

/* A header list holds the token line: wipe every line before freeing. */
static void headers_free(struct curl_slist *list)
{
    for (struct curl_slist *l = list; l != NULL; l = l->next)
        http_wipe(l->data, strlen(l->data));
    curl_slist_free_all(list);
}

/* curl's write callback: copy, or stop the transfer at the cap. Returning
 * a short count makes curl fail the transfer with CURLE_WRITE_ERROR. */
static size_t call_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    http_call *call = userdata;
    size_t n = size * nmemb;
    buffer *b = &call->response;
    if (b->len + n > call->max_response_bytes) {
        call->too_large = 1;
        return 0;
    }
    if (buffer_reserve(b, b->len + n + 1) != 0)
        return 0;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    buffer_written(b);
    return n;
}

/* The share handle of clients created with share = true: one for the
 * process, so their handles reuse each other's connections, TLS sessions
 * and DNS answers. It lives while a handle uses it (users). libcurl locks
 * each kind of data it shares with one mutex of its own, which keeps Lua
 * states in several threads safe; users has its own mutex, as
 * curl_share_cleanup takes libcurl's locks. */
static CURLSH *shared;
static long shared_users;
static pthread_mutex_t shared_users_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t shared_data_mutex[CURL_LOCK_DATA_LAST];
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

static void shared_init_mutexes(void)
{
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&shared_data_mutex[i], NULL);
}

static void shared_lock(CURL *easy, curl_lock_data data, curl_lock_access access, void *userptr)
{
    (void)easy, (void)access, (void)userptr;
    pthread_mutex_lock(&shared_data_mutex[data]);
}

static void shared_unlock(CURL *easy, curl_lock_data data, void *userptr)
{
    (void)easy, (void)userptr;
    pthread_mutex_unlock(&shared_data_mutex[data]);
}

/* Takes a reference to the share handle, making it on first use; NULL
 * when libcurl cannot. */
static CURLSH *shared_acquire(void)
{
    pthread_once(&shared_once, shared_init_mutexes);
    pthread_mutex_lock(&shared_users_mutex);
    if (shared == NULL && (shared = curl_share_init()) != NULL
        && (curl_share_setopt(shared, CURLSHOPT_LOCKFUNC, shared_lock) != CURLSHE_OK
            || curl_share_setopt(shared, CURLSHOPT_UNLOCKFUNC, shared_unlock) != CURLSHE_OK
            || curl_share_setopt(shared, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK
            || curl_share_setopt(shared, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK
            || curl_share_setopt(shared, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK)) {
        curl_share_cleanup(shared);
        shared = NULL;
    }
    CURLSH *share = shared;
    if (share != NULL)
        shared_users++;
    pthread_mutex_unlock(&shared_users_mutex);
    return share;
}

/* After curl_easy_cleanup of the handle that held the reference. */
static void shared_release(void)
{
    pthread_mutex_lock(&shared_users_mutex);
    if (--shared_users == 0) {
        curl_share_cleanup(shared);
        shared = NULL;
    }
    pthread_mutex_unlock(&shared_users_mutex);
}

/* Whether a request may go through a proxy: one is given, or one of the
 * variables libcurl reads is set (HTTP_PROXY too, though libcurl ignores
 * it: when in doubt, yes). */
static int proxy_possible(const http_options *o)
{
    static const char *const vars[] = {
        "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", NULL
    };
    if (o->proxy != NULL)
        return o->proxy[0] != '\0';
    for (const char *const *v = vars; *v != NULL; v++) {
        const char *value = getenv(*v);
        if (value != NULL && value[0] != '\0')
            return 1;
    }
    return 0;
}

#define SET(opt, val) \
    do { if ((rc = curl_easy_setopt(easy, (opt), (val))) != CURLE_OK) goto fail; } while (0)

http_call *http_call_new(const http_options *o, char *err, size_t errlen)
{
    CURLcode rc = CURLE_OK;
    http_call *call = calloc(1, sizeof *call);
    if (call == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    CURL *easy = call->easy = curl_easy_init();
    if (easy == NULL) {
        free(call);
        snprintf(err, errlen, "curl_easy_init failed");
        return NULL;
    }
    call->max_response_bytes = o->max_response_bytes;
    if (buffer_set(&call->url, 0, o->base_url, strlen(o->base_url)) != 0) {
        rc = CURLE_OUT_OF_MEMORY;
        goto fail;
    }
    call->base_len = call->url.len;
    if ((call->curlu = curl_url()) == NULL) {
        rc = CURLE_OUT_OF_MEMORY;
        goto fail;
    }

    SET(CURLOPT_NOSIGNAL, 1L);           /* no SIGALRM: we live inside other programs */
    SET(CURLOPT_ERRORBUFFER, call->errbuf);
    SET(CURLOPT_WRITEFUNCTION, call_write);
    SET(CURLOPT_WRITEDATA, call);
    SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    if (o->low_speed_limit > 0) {
        SET(CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
        SET(CURLOPT_LOW_SPEED_TIME, o->low_speed_time);
    }
    /* A cap announced by Content-Length fails before any byte is read. */
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_response_bytes);
    /* Never follow a redirect: it would carry the token or the password
     * to wherever the Location points. */
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    SET(CURLOPT_SSL_VERIFYPEER, o->verify_tls ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, o->verify_tls ? 2L : 0L);
    if (o->ca_file != NULL)
        SET(CURLOPT_CAINFO, o->ca_file);
    if (o->proxy != NULL)
        SET(CURLOPT_PROXY, o->proxy);
    /* With CURLOPT_USERAGENT libcurl formats the header afresh for every
     * request, in case a proxy's CONNECT needs it: callgrind counts ~5,000
     * instructions a call more than for the same line in our header list.
     * So when no proxy can be in play (none given, none in the
     * environment) the line goes into the list; else the option stays. */
    int proxy = proxy_possible(o);
    if (o->user_agent == NULL || o->user_agent[0] == '\0' || proxy) {
        SET(CURLOPT_USERAGENT, o->user_agent);
    } else {
        size_t n = sizeof "User-Agent: " + strlen(o->user_agent);
        if ((call->user_agent_header = malloc(n)) == NULL) {
            rc = CURLE_OUT_OF_MEMORY;
            goto fail;
        }
        snprintf(call->user_agent_header, n, "User-Agent: %s", o->user_agent);
    }
    /* Likewise libcurl reads the proxy variables for every request
     * (~1,500 instructions); read once here, none set means no proxy. */
    if (!proxy) {
        SET(CURLOPT_PROXY, "");
        SET(CURLOPT_NOPROXY, "");
    }
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    if (o->share) {
        CURLSH *share = shared_acquire();
        if (share == NULL) {
            rc = CURLE_OUT_OF_MEMORY;
            goto fail;
        }
        call->shared = 1;
        SET(CURLOPT_SHARE, share);
    }
    return call;

fail:
    snprintf(err, errlen, "cannot set up libcurl: %s", curl_easy_strerror(rc));
    http_call_free(call);
    return NULL;
}

void http_call_free(http_call *call)
{
    if (call == NULL)
        return;
    if (call->easy != NULL)
        curl_easy_cleanup(call->easy);
    if (call->shared)
        shared_release();
    curl_url_cleanup(call->curlu);
    headers_free(call->headers);
    free(call->user_agent_header);
    buffer_free(&call->response, 1);
    buffer_free(&call->request, 1);
    buffer_free(&call->url, 0);
    buffer_free(&call->headers_token, 1);
    free(call);
}

CURL *http_call_easy(http_call *call)
{
    return call->easy;
}

static int header_safe(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

/* curl_slist_append leaves the list as it was when it fails: free it
 * then, or it is lost. */
static int append(struct curl_slist **list, const char *line)
{
    struct curl_slist *with = curl_slist_append(*list, line);
    if (with == NULL) {
        headers_free(*list);
        *list = NULL;
        return -1;
    }
    *list = with;
    return 0;
}

static int call_headers(http_call *call, const char *token, size_t token_len, int has_body)
{
    int same_token = token == NULL
        ? call->headers_token.data == NULL
        : call->headers_token.data != NULL && call->headers_token.len == token_len
          && memcmp(call->headers_token.data, token, token_len) == 0;
    if (call->headers != NULL && same_token && call->headers_have_body == has_body)
        return 0;
    if (token != NULL && !header_safe(token, token_len))
        return -1;

    /* The handle must not keep pointing at the list freed here, should
     * building the new one fail. */
    curl_easy_setopt(call->easy, CURLOPT_HTTPHEADER, NULL);
    headers_free(call->headers);
    call->headers = NULL;
    buffer_free(&call->headers_token, 1);

    struct curl_slist *list = NULL;
    if (append(&list, "Accept: application/json") != 0
        || (call->user_agent_header != NULL && append(&list, call->user_agent_header) != 0)
        /* No "Expect: 100-continue" round trip for bodies. */
        || (has_body && append(&list, "Expect:") != 0)
        || (has_body && append(&list, "Content-Type: application/json; charset=utf-8") != 0))
        return -1;
    if (token != NULL) {
        buffer h = {0};
        if (buffer_set(&h, 0, TOKEN_HEADER, sizeof TOKEN_HEADER - 1) != 0
            || buffer_set(&h, h.len, token, token_len) != 0) {
            buffer_free(&h, 1);
            headers_free(list);
            return -1;
        }
        struct curl_slist *with = curl_slist_append(list, h.data);
        buffer_free(&h, 1);
        if (with == NULL) {
            headers_free(list);
            return -1;
        }
        list = with;
        if (buffer_set(&call->headers_token, 0, token, token_len) != 0) {
            headers_free(list);
            return -1;
        }
    }
    if (list == NULL)
        return -1;
    call->headers = list;
    call->headers_have_body = has_body;
    return curl_easy_setopt(call->easy, CURLOPT_HTTPHEADER, list) == CURLE_OK ? 0 : -1;
}

int http_call_prepare(http_call *call, const char *method, const char *path,
                      const char *token, size_t token_len,
                      const char *body, size_t body_len)
{
    CURL *easy = call->easy;
    if (call_headers(call, token, token_len, body != NULL) != 0)
        return -1;

    size_t path_len = strlen(path);
    if (call->url.len != call->base_len + path_len
        || memcmp(call->url.data + call->base_len, path, path_len) != 0) {
        if (buffer_set(&call->url, call->base_len, path, path_len) != 0)
            return -1;
        /* Given CURLOPT_URL, libcurl parses the URL again for every
         * request (callgrind: ~13,000 instructions); a CURLU parsed here
         * once, with the flags libcurl uses for CURLOPT_URL, it only
         * copies. A URL the parser refuses goes in as CURLOPT_URL, so the
         * transfer fails as it always did. */
        CURLU *parsed = curl_url_set(call->curlu, CURLUPART_URL, call->url.data,
                                     CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK
                        ? call->curlu : NULL;
        if (curl_easy_setopt(easy, CURLOPT_CURLU, parsed) != CURLE_OK
            || curl_easy_setopt(easy, CURLOPT_URL, call->url.data) != CURLE_OK)
            return -1;
    }

    if (body != NULL) {
        if (buffer_set(&call->request, 0, body, body_len) != 0)
            return -1;
        /* CUSTOMREQUEST copies the method: when that copy fails, the
         * request must not go out as a POST (or a DELETE as a GET). */
        call->last_method = NULL;
        if (curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call->request.data) != CURLE_OK
            || curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) != CURLE_OK
            || curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST,
                                strcmp(method, "POST") == 0 ? NULL : method) != CURLE_OK)
            return -1;
    } else if (call->last_method != method) {
        /* HTTPGET resets a previous body; CUSTOMREQUEST then names any
         * other bodiless method (DELETE). */
        call->last_method = NULL;
        if (curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L) != CURLE_OK
            || curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST,
                                strcmp(method, "GET") == 0 ? NULL : method) != CURLE_OK)
            return -1;
        call->last_method = method;
    }

    /* The reply buffer is kept from call to call, but one that a big reply
     * (up to max_response_bytes, 8 MiB by default) grew is let go here,
     * so one such reply does not pin its memory for the client's life. */
    if (call->response.cap > KEEP_RESPONSE_BYTES)
        buffer_free(&call->response, 1);
    call->response.len = 0;
    call->too_large = 0;
    call->errbuf[0] = '\0';
    return 0;
}

void http_call_finish(http_call *call, CURLcode code, http_response *out)
{
    memset(out, 0, sizeof *out);
    out->code = code;
    out->too_large = call->too_large || code == CURLE_FILESIZE_EXCEEDED;
    if (code != CURLE_OK)
        out->error = call->errbuf[0] != '\0' ? call->errbuf : curl_easy_strerror(code);
    /* libcurl before 8.6 refuses a response header line over 100 KB with
     * a bare CURLE_OUT_OF_MEMORY and no message: say what it likely was. */
    if (code == CURLE_OUT_OF_MEMORY && call->errbuf[0] == '\0')
        out->error = "Out of memory, or a response header line over libcurl's 100 KB limit";
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &out->status);
    char *content_type = NULL;
    curl_easy_getinfo(call->easy, CURLINFO_CONTENT_TYPE, &content_type);
    out->content_type = content_type;
    out->body = call->response.data != NULL ? call->response.data : "";
    out->body_len = call->response.len;
}

void http_call_perform(http_call *call, http_response *out)
{
    http_call_finish(call, curl_easy_perform(call->easy), out);
}

const char *http_curl_version(void)
{
    return curl_version();
}

int http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}
