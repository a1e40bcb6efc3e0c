#include "CCurlShim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// libcurl's ABI, as in curl/curl.h (stable since 7.x: option numbers are
// type base + index and never change).
typedef void CURL;
struct curl_slist;
typedef int CURLcode;
enum {
  CURLOPTTYPE_LONG = 0,
  CURLOPTTYPE_OBJECTPOINT = 10000,
  CURLOPTTYPE_FUNCTIONPOINT = 20000,
  CURLOPT_WRITEDATA = CURLOPTTYPE_OBJECTPOINT + 1,
  CURLOPT_URL = CURLOPTTYPE_OBJECTPOINT + 2,
  CURLOPT_ERRORBUFFER = CURLOPTTYPE_OBJECTPOINT + 10,
  CURLOPT_WRITEFUNCTION = CURLOPTTYPE_FUNCTIONPOINT + 11,
  CURLOPT_HTTPHEADER = CURLOPTTYPE_OBJECTPOINT + 23,
  CURLOPT_HEADERDATA = CURLOPTTYPE_OBJECTPOINT + 29,
  CURLOPT_NOPROGRESS = CURLOPTTYPE_LONG + 43,
  CURLOPT_FOLLOWLOCATION = CURLOPTTYPE_LONG + 52,
  CURLOPT_MAXREDIRS = CURLOPTTYPE_LONG + 68,
  CURLOPT_HEADERFUNCTION = CURLOPTTYPE_FUNCTIONPOINT + 79,
  CURLOPT_NOSIGNAL = CURLOPTTYPE_LONG + 99,
  CURLOPT_UNRESTRICTED_AUTH = CURLOPTTYPE_LONG + 105,
  CURLOPT_CONNECTTIMEOUT_MS = CURLOPTTYPE_LONG + 156,
  CURLOPT_HTTP_CONTENT_DECODING = CURLOPTTYPE_LONG + 158,
  CURLOPT_PROTOCOLS = CURLOPTTYPE_LONG + 181,
  CURLOPT_REDIR_PROTOCOLS = CURLOPTTYPE_LONG + 182,
  CURLOPT_XFERINFODATA = CURLOPTTYPE_OBJECTPOINT + 57,
  CURLOPT_XFERINFOFUNCTION = CURLOPTTYPE_FUNCTIONPOINT + 219,
  CURLOPT_PROTOCOLS_STR = CURLOPTTYPE_OBJECTPOINT + 318,
  CURLOPT_REDIR_PROTOCOLS_STR = CURLOPTTYPE_OBJECTPOINT + 319,
  CURLINFO_LONG = 0x200000,
  CURLINFO_RESPONSE_CODE = CURLINFO_LONG + 2,
  CURLE_OK = 0,
  CURLE_WRITE_ERROR = 23,
  CURLE_ABORTED_BY_CALLBACK = 42,
  CURL_GLOBAL_ALL = 3,
  CURLPROTO_HTTP = 1 << 0,
  CURLPROTO_HTTPS = 1 << 1,
  CURL_ERROR_SIZE = 256,
};

static struct {
  CURLcode (*global_init)(long flags);
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *handle, int option, ...);
  CURLcode (*easy_perform)(CURL *handle);
  CURLcode (*easy_getinfo)(CURL *handle, int info, ...);
  void (*easy_cleanup)(CURL *handle);
  const char *(*easy_strerror)(CURLcode code);
  struct curl_slist *(*slist_append)(struct curl_slist *list, const char *line);
  void (*slist_free_all)(struct curl_slist *list);
  char failure[256];
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
  // The names Debian, Fedora and Alpine give the library, then macOS's.
  static const char *const names[] = {"libcurl.so.4", "libcurl.so", "libcurl-gnutls.so.4", "libcurl.4.dylib"};
  void *library = NULL;
  // SHARDPLAN_LIBCURL names the library file to load instead (another install,
  // or a path that does not exist to stand for a machine without libcurl).
  const char *chosen = getenv("SHARDPLAN_LIBCURL");
  if (chosen != NULL && chosen[0] != '\0') {
    library = dlopen(chosen, RTLD_NOW | RTLD_LOCAL);
  } else {
    for (size_t i = 0; i < sizeof names / sizeof names[0] && library == NULL; i++) {
      library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
  }
  if (library == NULL) {
    const char *why = dlerror();
    snprintf(curl.failure, sizeof curl.failure, "cannot load libcurl (%s)", why ? why : "libcurl.so.4 not found");
    return;
  }
#define SYMBOL(field, name)                                                                   \
  *(void **)(&curl.field) = dlsym(library, name);                                             \
  if (curl.field == NULL) {                                                                   \
    snprintf(curl.failure, sizeof curl.failure, "libcurl.so.4 lacks %s: too old a libcurl", name); \
    return;                                                                                   \
  }
  SYMBOL(global_init, "curl_global_init")
  SYMBOL(easy_init, "curl_easy_init")
  SYMBOL(easy_setopt, "curl_easy_setopt")
  SYMBOL(easy_perform, "curl_easy_perform")
  SYMBOL(easy_getinfo, "curl_easy_getinfo")
  SYMBOL(easy_cleanup, "curl_easy_cleanup")
  SYMBOL(easy_strerror, "curl_easy_strerror")
  SYMBOL(slist_append, "curl_slist_append")
  SYMBOL(slist_free_all, "curl_slist_free_all")
#undef SYMBOL
  if (curl.global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
    snprintf(curl.failure, sizeof curl.failure, "curl_global_init failed");
  }
}

static size_t body_trampoline(char *bytes, size_t size, size_t count, void *context) {
  const shardplan_http_request *request = context;
  return request->on_body(bytes, size * count, request->context);
}

static size_t header_trampoline(char *bytes, size_t size, size_t count, void *context) {
  const shardplan_http_request *request = context;
  return request->on_header(bytes, size * count, request->context);
}

static int progress_trampoline(void *context, long long dltotal, long long dlnow, long long ultotal, long long ulnow) {
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  const shardplan_http_request *request = context;
  return request->on_progress(request->context);
}

int shardplan_http_get(const shardplan_http_request *request, long *status, char *error, size_t error_size) {
  *status = 0;
  if (error_size > 0) error[0] = '\0';
  pthread_once(&load_once, load);
  if (curl.failure[0] != '\0') {
    snprintf(error, error_size, "%s", curl.failure);
    return SHARDPLAN_HTTP_UNAVAILABLE;
  }
  CURL *handle = curl.easy_init();
  if (handle == NULL) {
    snprintf(error, error_size, "curl_easy_init failed");
    return SHARDPLAN_HTTP_UNAVAILABLE;
  }
  struct curl_slist *headers = NULL;
  for (int i = 0; i < request->header_count; i++) {
    struct curl_slist *grown = curl.slist_append(headers, request->headers[i]);
    if (grown == NULL) break;
    headers = grown;
  }
  char message[CURL_ERROR_SIZE] = {0};
  curl.easy_setopt(handle, CURLOPT_URL, request->url);
  curl.easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  curl.easy_setopt(handle, CURLOPT_ERRORBUFFER, message);
  curl.easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
  curl.easy_setopt(handle, CURLOPT_MAXREDIRS, 10L);
  curl.easy_setopt(handle, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl.easy_setopt(handle, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  curl.easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, request->connect_timeout_ms);
  // http and https only, for the first request and for redirects (the string
  // options came in 7.85; the bit masks before them).
  if (curl.easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
    curl.easy_setopt(handle, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  }
  if (curl.easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK) {
    curl.easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  }
  curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, body_trampoline);
  curl.easy_setopt(handle, CURLOPT_WRITEDATA, (void *)request);
  curl.easy_setopt(handle, CURLOPT_HEADERFUNCTION, header_trampoline);
  curl.easy_setopt(handle, CURLOPT_HEADERDATA, (void *)request);
  curl.easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  curl.easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, progress_trampoline);
  curl.easy_setopt(handle, CURLOPT_XFERINFODATA, (void *)request);
  CURLcode code = curl.easy_perform(handle);
  curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, status);
  if (code != CURLE_OK) {
    snprintf(error, error_size, "%s", message[0] != '\0' ? message : curl.easy_strerror(code));
  }
  curl.easy_cleanup(handle);
  curl.slist_free_all(headers);
  if (code == CURLE_WRITE_ERROR || code == CURLE_ABORTED_BY_CALLBACK) return SHARDPLAN_HTTP_STOPPED;
  return code;
}
