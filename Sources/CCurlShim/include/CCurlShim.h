// A minimal HTTP GET over libcurl's easy interface, with libcurl loaded at run
// time (dlopen), so that shardplan builds without curl's headers and runs where
// libcurl.so.4 is missing (the Hub is then unavailable, with a message).
#ifndef SHARDPLAN_CCURLSHIM_H
#define SHARDPLAN_CCURLSHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Receives body bytes or one header line; returns the count consumed (any other
/// count stops the transfer).
typedef size_t (*shardplan_http_data_cb)(const char *bytes, size_t count, void *context);
/// Called while the transfer runs (on each chunk, and about once a second while
/// nothing arrives); nonzero stops it.
typedef int (*shardplan_http_progress_cb)(void *context);

/// One GET request.
typedef struct {
  const char *url;
  /// Request header lines ("Name: value"), `header_count` of them.
  const char *const *headers;
  int header_count;
  /// Milliseconds to connect (DNS, TCP and TLS).
  long connect_timeout_ms;
  shardplan_http_data_cb on_body;
  shardplan_http_data_cb on_header;
  shardplan_http_progress_cb on_progress;
  void *context;
} shardplan_http_request;

/// Outcome codes besides libcurl's own CURLcode values (0 = success).
enum {
  /// libcurl could not be loaded (see the error text).
  SHARDPLAN_HTTP_UNAVAILABLE = -1,
  /// The transfer was stopped by a callback: the body callback refused bytes
  /// (CURLE_WRITE_ERROR) or the progress callback asked to stop
  /// (CURLE_ABORTED_BY_CALLBACK).
  SHARDPLAN_HTTP_STOPPED = -2,
};

/// Runs `request` on the calling thread (blocking), following redirects to
/// http(s) only (at most 10; an Authorization header is not sent to another
/// host), with compressed bodies passed through undecoded. Returns 0, a
/// SHARDPLAN_HTTP_* code or a CURLcode; the final response's status in `status`;
/// a description of a failure in `error` (NUL-terminated, at most `error_size`).
int shardplan_http_get(const shardplan_http_request *request, long *status, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif
