/* floor URL N TOKEN USER_AGENT [CA_FILE]: the cheapest GetMyProfile loop
 * libcurl allows, the floor every other runner is compared with. One easy
 * handle set up once and reused (so one kept-alive connection, one TLS
 * handshake), a write callback that throws the reply away, and the very
 * request the module sends: the same request line and headers (Accept,
 * User-Agent, the token), byte for byte, in one header list built once.
 * The same bytes matter: libcurl 7.88 appends each header to the request
 * one byte at a time through its printf, ~80 instructions a byte, so a
 * floor sending fewer bytes would measure header sizes, not clients.
 *
 * With FLOOR_CURLU=1 in the environment the URL is handed over parsed
 * (CURLOPT_CURLU), as the module does: libcurl then skips parsing it
 * again for every request.
 *
 * After one warm-up call it times N calls and prints
 * "WALL_SECONDS CPU_SECONDS PEAK_RSS_KB". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>

static size_t discard(char *data, size_t size, size_t nmemb, void *userdata)
{
    (void)data;
    (void)userdata;
    return size * nmemb;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(const struct rusage *r)
{
    return (double)r->ru_utime.tv_sec + (double)r->ru_utime.tv_usec / 1e6
         + (double)r->ru_stime.tv_sec + (double)r->ru_stime.tv_usec / 1e6;
}

static void call(CURL *easy)
{
    CURLcode rc = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) {
        fprintf(stderr, "floor: %s, HTTP %ld\n", curl_easy_strerror(rc), status);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: floor URL N TOKEN USER_AGENT [CA_FILE]\n");
        return 2;
    }
    long n = atol(argv[2]);
    char header[4200], user_agent[1100];
    snprintf(header, sizeof header, "x-chronosheets-auth: %s", argv[3]);
    snprintf(user_agent, sizeof user_agent, "User-Agent: %s", argv[4]);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *easy = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    if (argv[4][0] != '\0')     /* "" leaves it out */
        headers = curl_slist_append(headers, user_agent);
    headers = curl_slist_append(headers, header);
    const char *curlu = getenv("FLOOR_CURLU");
    CURLU *url = curl_url();
    if (curlu != NULL && strcmp(curlu, "1") == 0) {
        curl_url_set(url, CURLUPART_URL, argv[1], 0);
        curl_easy_setopt(easy, CURLOPT_CURLU, url);
    } else {
        curl_easy_setopt(easy, CURLOPT_URL, argv[1]);
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    if (argc > 5)
        curl_easy_setopt(easy, CURLOPT_CAINFO, argv[5]);

    call(easy);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = now();
    for (long i = 0; i < n; i++)
        call(easy);
    double t1 = now();
    getrusage(RUSAGE_SELF, &r1);
    printf("%.6f %.6f %ld\n", t1 - t0, cpu(&r1) - cpu(&r0), r1.ru_maxrss);

    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
    curl_url_cleanup(url);
    curl_global_cleanup();
    return 0;
}
