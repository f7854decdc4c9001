#ifndef PRELLM_CCURL_SHIM_H
#define PRELLM_CCURL_SHIM_H
// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift cannot
// call; these wrappers pin one argument type each.
#include <curl/curl.h>

typedef size_t (*prellm_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode prellm_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode prellm_easy_setopt_ptr(CURL *h, CURLoption o, const void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode prellm_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode prellm_easy_setopt_cb(CURL *h, CURLoption o, prellm_curl_data_cb v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode prellm_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode prellm_easy_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode prellm_easy_getinfo_ptr(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLMcode prellm_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
#endif
