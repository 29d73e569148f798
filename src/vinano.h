/*
 * vinano.core: the C transport of the ViNano client.  It knows HTTP through
 * libcurl and nothing of the API (docs/architecture.md is the contract).
 *
 * Files, lowest first (each only calls into the ones above it; `make lint`
 * checks that with nm):
 *   platform.c  POSIX calls (clock, sleep, stat, files, poll)
 *   buffer.c    growable byte buffer
 *   compat.c    Lua 5.1-5.3 shims
 *   class.c     registering a userdata class
 *   trace.c     secrets redacted: the verbose trace, server text
 *   form.c      parts list -> multipart body (read from disk while sent)
 *   json.c      JSON text -> Lua tables (integers, vinano.null, bounded)
 *   headers.c   the response headers Lua named, collected per line
 *   sink.c      body to memory (bounded) or to a file (temp + rename)
 *   pool.c      multi + share handles, easy handles, sockets, timer
 *   transfer.c  one transfer's life and its facts
 *   client.c    the client: options, start, step, wait, sockets, action
 *   core.c      luaopen_vinano_core and the module functions
 */
#ifndef VINANO_H
#define VINANO_H

#include <stddef.h>
#include <curl/curl.h>

#include "compat.h"
#include "buffer.h"
#include "platform.h"

#define VN_VERSION "0.1.0"
#define VN_CLIENT_MT "vinano.core.client"
#define VN_TRANSFER_MT "vinano.core.transfer"

/* ---- class.c */
/* Creates the metatable name: methods as __index, meta (__gc, __close,
 * __tostring, ...), __metatable locked.  Leaves nothing on the stack. */
void vn_class_register(lua_State *L, const char *name, const luaL_Reg *methods, const luaL_Reg *meta);
/* luaL_checkudata(L, idx, name) for the methods and metamethods of a class
 * registered above (it compares with their upvalue, not the registry). */
void *vn_class_check(lua_State *L, int idx, const char *name);
/* Option checks shared by the client and its transfers; each raises
 * "bad option 'what' (...)" (arg 0) or a bad argument arg otherwise. */
double vn_check_seconds(lua_State *L, int idx, int arg, const char *what);
/* A string without CR, LF or NUL (nul_only: without NUL); NULL when nil. */
const char *vn_check_line(lua_State *L, int idx, int arg, const char *what, int nul_only, size_t *len);
int vn_raise(lua_State *L, int arg, const char *what, const char *why);
/* seconds -> milliseconds for CURLOPT_*_MS, at least 1 */
long vn_seconds_to_ms(double s);

/* ---- trace.c */
/* A token this long or longer is redacted wherever it appears; a shorter one
 * only where it stands as a word (no letter or digit touching it). */
#define VN_REDACT_ANYWHERE 8
/* Copies in[0..n) to out with every occurrence of token and (lines: 1) the
 * value of every Authorization and Proxy-Authorization field (any case,
 * HTTP/1 header or h2/h3 trace line) replaced by "<redacted>".  0: out of
 * memory. */
int vn_trace_redact(const char *in, size_t n, const char *token, size_t tokn, int lines, vn_buffer *out);
/* Whether vn_trace_redact could change in[0..n): 0 means it would copy it as
 * it is (a cheap check, no allocation). */
int vn_redact_needed(const char *in, size_t n, const char *token, size_t tokn, int lines);
/* A server's text quoted for an error message: redacted as above (lines on),
 * then cut to max bytes (never inside a marker), then escaped (\" \\ \xHH for
 * control and non-ASCII bytes) between double quotes, "..." after a cut and
 * " (empty)" after an empty text.  0: out of memory. */
int vn_snippet(const char *in, size_t n, const char *token, size_t tokn, size_t max, vn_buffer *out);
/* CURLOPT_DEBUGFUNCTION; userdata: a vn_trace_ctx. */
typedef struct vn_trace_ctx {
  const char *token; /* borrowed: points into the client's slist */
  size_t tokn;
} vn_trace_ctx;
int vn_trace_debug(CURL *e, curl_infotype type, char *data, size_t size, void *ud);

/* ---- form.c */
#define VN_BOUNDARY_LEN 40 /* 8 dashes, 32 hex digits */
typedef struct vn_form_file {
  char *path;
  curl_off_t size; /* as it was at start: what is sent */
  size_t mem_at;   /* where in mem its bytes go */
} vn_form_file;

/* A multipart/form-data body: mem with the files' bytes inserted. */
typedef struct vn_form {
  vn_buffer mem;       /* every byte but the files' */
  vn_form_file *files; /* in body order */
  size_t nfiles, capfiles;
  curl_off_t total;    /* the body's size */
  char boundary[VN_BOUNDARY_LEN];
  char header[96];     /* "Content-Type: multipart/form-data; boundary=..." */
  /* reading (vn_form_read): segment 2k is mem before file k, 2k+1 file k */
  size_t seg;
  curl_off_t seg_off;
  int fd;      /* the file being read; -1: none */
  int failed;  /* reading failed: the transfer was aborted */
  char *error; /* then "reading 'path': reason" (NULL: out of memory) */
} vn_form;

void vn_form_init(vn_form *f);
/* Builds the body of the parts list at index parts (a sequence of {name=,
 * value= | file= | data=, filename=, type=}, or name, value strings), with a
 * new boundary from *random_state.  Raises with luaL_argerror(arg) on
 * misuse; f then holds what it had built (vn_form_free frees it). */
void vn_form_build(lua_State *L, int parts, int arg, vn_form *f, unsigned long long *random_state);
/* CURLOPT_READFUNCTION and CURLOPT_SEEKFUNCTION over a form (userdata). */
size_t vn_form_read(char *buf, size_t size, size_t nitems, void *ud);
int vn_form_seek(void *ud, curl_off_t offset, int origin);
/* The failure's message, now the caller's to free (NULL: none, or no memory). */
char *vn_form_take_error(vn_form *f);
void vn_form_free(vn_form *f);

/* ---- json.c */
#define VN_JSON_MAX_DEPTH 1000
#define VN_JSON_MAX_DEPTH_S "1000"
/* Pushes the value of the JSON text s[0..n) and returns 1; or pushes
 * nothing, writes "invalid JSON at byte N: why" to err and returns 0.  May
 * raise only Lua's memory error (nothing is allocated outside Lua). */
int vn_json_push(lua_State *L, const char *s, size_t n, char *err, size_t errsize);
/* 1 when s[0..n) starts, after JSON whitespace, with '{'. */
int vn_json_is_object(const char *s, size_t n);

/* ---- headers.c */
#define VN_MAX_NAMED 16
typedef struct vn_named {
  char *name; /* lower-case */
  size_t len;
  int number; /* 1: converted as Lua's tonumber would (whole floats as integers on 5.3+); 0: the trimmed text */
} vn_named;
typedef struct vn_named_set {
  vn_named h[VN_MAX_NAMED];
  int n;
} vn_named_set;
/* Reads {name = "number"|"string", ...} at idx into set (raises naming the
 * option on misuse). */
void vn_named_read(lua_State *L, int idx, vn_named_set *set);
void vn_named_free(vn_named_set *set);
/* One header line as libcurl delivers it (the '\n' included or not): when
 * it is "name:value" for a name of set, the value is appended to vals. */
void vn_named_line(const vn_named_set *set, const char *line, size_t n, vn_buffer *vals);
/* Pushes the table {name = value} of what vals holds (the last one of a
 * name wins; a number that does not convert is absent). */
void vn_named_push(lua_State *L, const vn_buffer *vals);

/* ---- sink.c */
typedef struct vn_sink {
  char *path;             /* file sink: the final path (NULL: memory sink) */
  vn_file file;           /* the temporary file beside path */
  vn_buffer body;         /* memory body, or a non-2xx body of a file sink */
  curl_off_t max;         /* bound of body */
  curl_off_t written;     /* bytes written to the file */
  int too_large, file_errno, committed;
  char *file_error;       /* "writing 'path': reason" (allocated on the error; see sink.c) */
} vn_sink;
void vn_sink_init(vn_sink *s, curl_off_t max);
/* File sink: creates the temporary file (and parent folders with mkdir).
 * 0 on success; else s->file_error says why. */
int vn_sink_open(vn_sink *s, const char *path, int mkdir);
/* Called from the write callback: status is the response's so far. */
size_t vn_sink_write(vn_sink *s, long status, const char *p, size_t n);
/* The transfer ended: rename (ok) or discard the temporary file. */
void vn_sink_finish(vn_sink *s, int ok);
void vn_sink_free(vn_sink *s);

/* ---- pool.c */
typedef struct vn_link {
  struct vn_link *prev, *next;
} vn_link;

typedef struct vn_sock {
  curl_socket_t fd;
  int what; /* CURL_POLL_IN, _OUT, _INOUT, _REMOVE */
} vn_sock;

typedef struct vn_pool {
  CURLM *multi;
  CURLSH *share; /* DNS and TLS sessions across easy handles */
  CURL **easy; /* spare easy handles (libcurl >= 8.1), at most the peak in flight */
  int neasy;
  size_t capeasy;
  int peak;     /* the most transfers in flight at once so far */
  vn_link attached; /* transfers holding an easy handle of this pool (sentinel) */
  int running;
  /* what libcurl asked to watch (CURLMOPT_SOCKETFUNCTION) */
  vn_sock *socks;
  size_t nsocks, capsocks;
  /* for c:sockets(): changes not yet read, and the sockets a host watches */
  int hosted;
  vn_sock *changes;
  size_t nchanges, capchanges;
  curl_socket_t *watched;
  size_t nwatched, capwatched;
  /* sockets libcurl closed while a host watched them */
  vn_sock *closes; /* what: 0 = keep until the remove is read, 1 = close now */
  size_t ncloses, capcloses;
  int closing;
  /* CURLMOPT_TIMERFUNCTION: -1 none, else the monotonic deadline */
  double deadline;
  int has_deadline;
  int failed; /* a CURLMcode that broke the multi handle */
  unsigned long long form_random; /* multipart boundaries (form.c), seeded by vn_random */
  int pollset; /* vn_pollset_new's, kept in step with socks; -1: none */
} vn_pool;

int vn_pool_init(vn_pool *p);  /* 0: out of memory */
void vn_pool_cleanup(vn_pool *p);
CURL *vn_pool_take_easy(vn_pool *p);
void vn_pool_give_easy(vn_pool *p, CURL *e);
/* Options every easy handle of the pool needs (share, close-socket hook). */
void vn_pool_setup_easy(vn_pool *p, CURL *e);
void vn_pool_attach(vn_pool *p, vn_link *l);
void vn_pool_detach(vn_link *l);
/* Closes the sockets whose removal a host has read. */
void vn_pool_flush_closes(vn_pool *p);
/* Milliseconds until libcurl's timer (-1: none), at most cap when cap >= 0. */
int vn_pool_timeout(const vn_pool *p, int cap);
/* Appends a pollfd per watched socket; returns how many (at most room). */
size_t vn_pool_pollfds(const vn_pool *p, vn_pollfd *fds, size_t room);
/* curl_multi_socket_action; ev: CURL_CSELECT_* bits. */
CURLMcode vn_pool_action(vn_pool *p, curl_socket_t fd, int ev);
/* Acts on libcurl's timer when it expired. */
CURLMcode vn_pool_timer(vn_pool *p);
/* The pool's pollset (made on first use, with the sockets watched so far);
 * -1 where the system has none. */
int vn_pool_pollset(vn_pool *p);
/* Moves the unread changes out (the caller frees *out); marks reads. */
size_t vn_pool_take_changes(vn_pool *p, vn_sock **out);

/* ---- transfer.c */
enum vn_state { VN_IDLE, VN_RUNNING, VN_DONE, VN_CLOSED };

/* What a transfer needs of its client's settings, copied at start. */
typedef struct vn_config {
  long timeout_ms, connect_timeout_ms;
  char *ca_file, *proxy, *no_proxy, *user_agent;
  int insecure, verbose;
  curl_off_t max_response;
  struct curl_slist *auth; /* the Authorization line, or NULL */
  vn_trace_ctx trace;
  vn_named_set named; /* response headers collected for Lua */
} vn_config;

typedef struct vn_facts {
  CURLcode code;
  long status;
  int request_sent;
  char *content_type, *redirect_url;
  int read_failed;  /* a file being sent could not be read: */
  char *read_error; /* why (vn_form_take_error; NULL: out of memory) */
  curl_off_t retry_after;
  long new_connections, local_port, http_version;
  double seconds;
  const char *error; /* libcurl's message (errbuf or static), "cancelled", or the sink's file_error */
} vn_facts;

typedef struct vn_transfer {
  vn_link link; /* first: a vn_link * is a vn_transfer * */
  vn_pool *pool; /* NULL once detached (done, or client closed) */
  CURL *easy;
  vn_form form;
  struct curl_slist form_header; /* form.header, then the client's Authorization line */
  struct curl_slist *auth_copy; /* not owned: the client's */
  int state, cancelled, queue, json, has_named;
  const vn_config *cfg; /* the client's, while running (header names, redaction) */
  vn_buffer named;      /* values of the named headers of the last response */
  int self_ref; /* registry anchor while running */
  vn_sink sink;
  vn_buffer head; /* header lines of the last response */
  curl_off_t up_now, up_total, down_now, down_total;
  vn_facts facts;
  char errbuf[CURL_ERROR_SIZE];
} vn_transfer;

/* c:start(spec): the spec table at index spec; pushes the transfer. */
vn_transfer *vn_transfer_start(lua_State *L, vn_pool *p, const vn_config *cfg, int spec);
/* The multi handle reported it done with code: snapshot, release, unanchor. */
void vn_transfer_finish(lua_State *L, vn_transfer *t, CURLcode code);
/* Stops a running transfer (cancelled = true); 1 if it was running. */
int vn_transfer_cancel(lua_State *L, vn_transfer *t);
/* The client goes away: cancel, and forget the pool. */
void vn_transfer_orphan(lua_State *L, vn_transfer *t);
/* Pushes the transfer's userdata (from its anchor); 0 if not anchored. */
int vn_transfer_push(lua_State *L, const vn_transfer *t);
void vn_transfer_register(lua_State *L);

/* ---- client.c */
int vn_client_new(lua_State *L);
int vn_client_wait(lua_State *L); /* core.wait(clients, ms) */
void vn_client_register(lua_State *L);
/* Options parsing (shared with the fuzzer): fills cfg from the table at idx;
 * raises naming the option. cfg must be zeroed; free with vn_config_free. */
void vn_config_read(lua_State *L, int idx, vn_config *cfg);
void vn_config_free(vn_config *cfg);


#endif
