/*
 * vinano.core: the C half of the ViNano client.
 *
 * A client owns one curl multi handle (its connection cache is what makes
 * keep-alive and HTTP/2 reuse work across calls) and a small pool of easy
 * handles.  A request is a userdata that borrows one easy handle from its
 * client for as long as it holds a response.  libcurl's callbacks only
 * fill C buffers and counters; Lua is never called from inside libcurl.
 */
#ifndef VINANO_H
#define VINANO_H

#include <stddef.h>
#include <stdio.h>
#include <curl/curl.h>
#include "compat.h"

#define VN_CLIENT_MT "vinano.client"
#define VN_REQUEST_MT "vinano.request"
#define VN_ERROR_MT "vinano.error"

#define VN_POOL_MAX 16
#define VN_MAX_FILE_BYTES ((curl_off_t)100 * 1024 * 1024)

enum vn_op { VN_OP_GENERATE, VN_OP_SUBMIT, VN_OP_POLL, VN_OP_DOWNLOAD };

enum vn_state {
  VN_IDLE,    /* created, resources not yet acquired */
  VN_RUNNING, /* added to the client's multi handle, anchored */
  VN_DONE,    /* transfer over, response held until result() */
  VN_CLOSED   /* every resource released */
};

typedef struct vn_buffer {
  char *data;
  size_t len, cap;
} vn_buffer;

typedef struct vn_request vn_request;

typedef struct vn_client {
  CURLM *multi;
  CURLSH *share; /* DNS and TLS sessions, for easy handles that are not reused */
  char *base_url; /* no trailing slash */
  char *user_agent, *ca_file, *proxy;
  struct curl_slist *headers; /* holds the Authorization line */
  int has_token, insecure, verbose;
  long timeout_ms, connect_timeout_ms;
  size_t max_response;
  vn_request *attached; /* requests that hold an easy handle of this client */
  int running;          /* of those, how many are in flight */
  CURL *pool[VN_POOL_MAX];
  int npool;
  int finished_ref; /* registry: array of finished requests not yet reported by step() */
  int closed;
} vn_client;

struct vn_request {
  vn_client *client; /* NULL once the client is gone */
  vn_request *prev, *next;
  CURL *easy;
  curl_mime *mime;
  int op, state, sync;
  int self_ref;   /* registry anchor while in flight */
  int result_ref; /* registry: {res, err, info} once computed */
  CURLcode code;
  int cancelled, too_large;
  long status;
  vn_buffer body;
  vn_buffer head; /* the header lines of the last response, as received */
  curl_off_t up_now, up_total, down_now, down_total;
  /* download: written to tmp_path, renamed to path once complete */
  FILE *out;
  char *path, *tmp_path;
  curl_off_t written;
  int file_error;
  char errbuf[CURL_ERROR_SIZE];
};

/* core.c */
int vn_push_error(lua_State *L, const char *kind, long status, const char *fmt, ...);

/* client.c */
void vn_client_register(lua_State *L);
int vn_client_new(lua_State *L);
void vn_client_release_easy(vn_client *c, CURL *easy);

/* request.c */
void vn_request_register(lua_State *L);
vn_request *vn_request_create(lua_State *L);
void vn_request_finish(lua_State *L, vn_request *r);
int vn_request_push_result(lua_State *L, vn_request *r);
void vn_request_close(lua_State *L, vn_request *r);

/* download.c */
int vn_download_open(vn_request *r, const char *path, char *msg, size_t msgsize);
size_t vn_download_write(char *ptr, size_t size, size_t nmemb, void *ud);
void vn_download_finish(vn_request *r);
void vn_download_abort(vn_request *r);

/* client.c: the response-body writer shared with downloads' error bodies */
size_t vn_body_write(char *ptr, size_t size, size_t nmemb, void *ud);

/* form.c: fills mime from a params table; on bad input writes a message naming the field and returns 0 */
int vn_form_build(lua_State *L, int params, curl_mime *mime, char *msg, size_t msgsize);

/* response.c: pushes res, err, info for a finished request (decode function at upvalue 1) */
int vn_response_push(lua_State *L, vn_request *r);

#endif
