// Typed wrappers over libcurl's variadic curl_easy_setopt/curl_easy_getinfo,
// which Swift cannot call directly. One wrapper per argument type.
#ifndef PKGFETCH_CCURL_H
#define PKGFETCH_CCURL_H

#include <curl/curl.h>

typedef size_t (*ccurl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*ccurl_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                       curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode ccurl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_offset(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_setopt_data_callback(CURL *h, CURLoption o, ccurl_data_callback v) { return curl_easy_setopt(h, o, v); }
/* A blob option (CURLOPT_CAINFO_BLOB…); libcurl copies the bytes, so the caller's buffer may go away. */
static inline CURLcode ccurl_setopt_blob(CURL *h, CURLoption o, void *data, size_t len) {
    struct curl_blob blob = { data, len, CURL_BLOB_COPY };
    return curl_easy_setopt(h, o, &blob);
}
static inline CURLcode ccurl_setopt_xferinfo_callback(CURL *h, ccurl_xferinfo_callback v) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, v); }

/* The protocol options by number, so a build against any libcurl headers can ask for both kinds.
   The string forms arrived in libcurl 7.85; an older libcurl answers CURLE_UNKNOWN_OPTION, and the
   caller falls back to the bitmask forms (deprecated since 7.85, the only ones before it). */
static const CURLoption ccurl_opt_protocols_str = (CURLoption)(CURLOPTTYPE_STRINGPOINT + 318);
static const CURLoption ccurl_opt_redir_protocols_str = (CURLoption)(CURLOPTTYPE_STRINGPOINT + 319);
static const CURLoption ccurl_opt_protocols = (CURLoption)(CURLOPTTYPE_LONG + 181);
static const CURLoption ccurl_opt_redir_protocols = (CURLoption)(CURLOPTTYPE_LONG + 182);
static const long ccurl_proto_http = 1L << 0;   /* CURLPROTO_HTTP */
static const long ccurl_proto_https = 1L << 1;  /* CURLPROTO_HTTPS */

/* libcurl's name for an option (without the CURLOPT_ prefix), or NULL for one it does not know. */
static inline const char *ccurl_option_name(CURLoption o) {
    const struct curl_easyoption *option = curl_easy_option_by_id(o);
    return option ? option->name : NULL;
}

/* The version of the libcurl in use (not the headers'), e.g. "7.81.0". */
static inline const char *ccurl_version(void) { return curl_version_info(CURLVERSION_NOW)->version; }

static inline CURLcode ccurl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ccurl_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ccurl_getinfo_offset(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }

#endif
