/*
 * libFuzzer harness for src/response.c: a finished transfer (body bytes, an
 * HTTP status, an operation) becomes res, err, info through vn_response_push,
 * exactly as request:result() does it, with the cjson.safe decoder of
 * vinano.core at upvalue 1 of the calling C function.
 *
 * Input: one header line, then the body.
 *
 *   <op> <status> [<flags>]\n<body bytes...>
 *
 *   op     first letter: g(enerate) s(ubmit) p(oll) d(ownload); any other
 *          byte picks one of the four by its value
 *   status decimal, may be negative (default 200)
 *   flags  c cancelled, l too_large, n network error (CURLE_COULDNT_CONNECT),
 *          t timeout, e with an error-buffer text, f file error (download),
 *          h raw HTTP: see below
 *
 * Without a newline (in the first 64 bytes) the whole input is the header
 * and no body arrived at all (body.data == NULL).  The body is copied into a
 * buffer of exactly its length, not NUL-terminated, as libcurl's writes leave
 * it, so a read past its end is caught by ASan.
 *
 * With the flag h, the bytes after the header line are a whole HTTP response
 * (status line, headers, body) that a real libcurl easy handle reads from a
 * server in this process (a Unix socket: CURLOPT_UNIX_SOCKET_PATH); the
 * status, the body, the curl result code and the handle itself then come
 * from that transfer, so the response headers (info.headers, rate limits,
 * Retry-After, Location, Content-Type) are fuzzed too.  The <status> of the
 * header line is ignored in that mode.  Each input gets a new easy handle;
 * with the flag r as well, the bytes hold two responses separated by a line
 * "==next==": the first transfer's handle goes back through
 * vn_client_release_easy (client.c's pool, a client of its own here) and is
 * taken out again for the second, as consecutive requests of one client do.
 *
 * Checks (abort on failure): exactly res, err, info come back; exactly one
 * of res and err is nil; err has vinano's error metatable, a string kind and
 * message, and __tostring works; a poll result has state pending, done or
 * failed; generate results have images, submit results a task_id; info is a
 * table whose status is the HTTP status.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

static int raw_mode, reuse_mode;

static int call_push(lua_State *L) {
  vn_request *r = (vn_request *)lua_touserdata(L, 1);
  lua_settop(L, 0);
  return vn_response_push(L, r);
}

static size_t parse_header(const uint8_t *data, size_t size, vn_request *r, int *has_body) {
  size_t i, hl = size < 64 ? size : 64, end = hl;
  long status = 200;
  int neg = 0, digits = 0;
  *has_body = 0;
  for (i = 0; i < hl; i++)
    if (data[i] == '\n') {
      end = i;
      *has_body = 1;
      break;
    }
  r->op = VN_OP_GENERATE;
  if (end > 0) {
    switch (data[0]) {
      case 'g': r->op = VN_OP_GENERATE; break;
      case 's': r->op = VN_OP_SUBMIT; break;
      case 'p': r->op = VN_OP_POLL; break;
      case 'd': r->op = VN_OP_DOWNLOAD; break;
      default: r->op = data[0] % 4;
    }
  }
  i = 0;
  while (i < end && data[i] != ' ') i++; /* skip the op word */
  while (i < end && data[i] == ' ') i++;
  if (i < end && data[i] == '-') {
    neg = 1;
    i++;
  }
  if (i < end && data[i] >= '0' && data[i] <= '9') status = 0;
  while (i < end && data[i] >= '0' && data[i] <= '9' && digits < 12) {
    status = status * 10 + (data[i++] - '0');
    digits++;
  }
  r->status = neg ? -status : status;
  while (i < end && data[i] != ' ') i++;
  for (; i < end; i++) {
    switch (data[i]) {
      case 'c': r->cancelled = 1; break;
      case 'l': r->too_large = 1; break;
      case 'n': r->code = CURLE_COULDNT_CONNECT; break;
      case 't': r->code = CURLE_OPERATION_TIMEDOUT; break;
      case 'e': snprintf(r->errbuf, sizeof r->errbuf, "Failed to connect to 127.0.0.1 port 9: %s", "refused"); break;
      case 'f': r->file_error = EACCES; break;
      case 'h': raw_mode = 1; break;
      case 'r': reuse_mode = 1; break;
      default: break;
    }
  }
  return *has_body ? end + 1 : size;
}

/* The raw HTTP mode: an in-process server on a Unix socket, driven by hand
 * between curl_multi_perform calls (libcurl 7.88 ignores
 * CURL_SOCKOPT_ALREADY_CONNECTED, so the socketpair trick is out). */
static CURLM *multi;
static int listener = -1;
static char socket_path[108];

static void open_listener(void) {
  struct sockaddr_un sa;
  const char *dir = getenv("TMPDIR");
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(socket_path, sizeof socket_path, "%s/vinano-fuzz-%ld.sock", dir && *dir ? dir : "/tmp", (long)getpid());
  if (strlen(socket_path) >= sizeof sa.sun_path) abort();
  memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
  unlink(socket_path);
  listener = socket(AF_UNIX, SOCK_STREAM, 0);
  if (listener < 0 || bind(listener, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(listener, 8) != 0) {
    perror("vinano fuzz: listen");
    abort();
  }
  fcntl(listener, F_SETFL, O_NONBLOCK);
  if (!(multi = curl_multi_init())) abort();
}

typedef struct sink {
  char *data;
  size_t len;
} sink;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *ud) {
  sink *k = (sink *)ud;
  size_t n = size * nmemb;
  char *p;
  if (k->len + n > (1u << 20)) return 0;
  p = (char *)realloc(k->data, k->len + n + 1);
  if (!p) return 0;
  memcpy(p + k->len, ptr, n);
  k->data = p;
  k->len += n;
  return n;
}

/* Runs one transfer whose server answers with the input bytes; fills r as
 * vn_request_finish and vn_body_write would (the body in a buffer of exactly
 * its length, or NULL when none came). */
static void perform_raw(vn_request *r, CURL *easy, const uint8_t *data, size_t size) {
  sink body = {NULL, 0};
  size_t off = 0;
  int peer = -1, running = 1, rounds = 0, left;
  CURLMsg *m;
  if (listener < 0) open_listener();
  curl_easy_setopt(easy, CURLOPT_URL, r->op == VN_OP_POLL ? "http://localhost/api/v1/images/task-status?task_id=t1"
                                                          : "http://localhost/api/v2/images/generate");
  curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, socket_path);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, r->errbuf);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 3000L);
  curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
  if (getenv("VINANO_FUZZ_CURL_VERBOSE")) curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);
  curl_multi_add_handle(multi, easy);
  while (running && rounds++ < 100000) {
    curl_multi_perform(multi, &running);
    if (peer < 0 && (peer = accept(listener, NULL, NULL)) >= 0) fcntl(peer, F_SETFL, O_NONBLOCK);
    if (peer >= 0 && off < size) {
      ssize_t n = write(peer, data + off, size - off);
      if (n > 0) off += (size_t)n;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) off = size;
      if (off == size) shutdown(peer, SHUT_WR); /* the server has said all it will say */
    } else if (peer >= 0 && size == 0 && off == 0) {
      shutdown(peer, SHUT_WR);
      off = 1;
    }
    if (running) curl_multi_poll(multi, NULL, 0, 5, NULL);
  }
  r->code = CURLE_OPERATION_TIMEDOUT;
  while ((m = curl_multi_info_read(multi, &left)) != NULL)
    if (m->msg == CURLMSG_DONE) r->code = m->data.result;
  curl_multi_remove_handle(multi, easy);
  if (peer >= 0) close(peer);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
  r->easy = easy;
  if (body.data) { /* exact length, not NUL-terminated */
    r->body.data = (char *)malloc(body.len ? body.len : 1);
    if (!r->body.data) abort();
    memcpy(r->body.data, body.data, body.len);
    r->body.len = r->body.cap = body.len;
  }
  free(body.data);
}

static int is_state(const char *s) {
  return s && (strcmp(s, "pending") == 0 || strcmp(s, "done") == 0 || strcmp(s, "failed") == 0);
}

static void check_results(lua_State *L, int base, const vn_request *r) {
  int res = base + 1, err = base + 2, info = base + 3;
  int plain = !r->cancelled && !r->too_large && r->code == CURLE_OK;
  VN_CHECK(lua_gettop(L) == base + 3, "vn_response_push leaves res, err, info");
  VN_CHECK(lua_isnil(L, res) != lua_isnil(L, err), "exactly one of res and err");
  VN_CHECK(lua_istable(L, info), "info is a table");
  lua_getfield(L, info, "status");
  if (r->status > 0)
    VN_CHECK(lua_isinteger(L, -1) && lua_tointeger(L, -1) == (lua_Integer)r->status, "info.status is the HTTP status");
  else
    VN_CHECK(lua_isnil(L, -1), "no info.status without an HTTP status");
  lua_pop(L, 1);
  lua_getfield(L, info, "headers");
  VN_CHECK(lua_istable(L, -1), "info.headers is a table");
  lua_pop(L, 1);

  if (!lua_isnil(L, err)) {
    VN_CHECK(lua_istable(L, err), "err is a table");
    VN_CHECK(lua_getmetatable(L, err), "err has a metatable");
    luaL_getmetatable(L, VN_ERROR_MT);
    VN_CHECK(lua_rawequal(L, -1, -2), "err has vinano's error metatable");
    lua_pop(L, 2);
    lua_getfield(L, err, "kind");
    VN_CHECK(lua_type(L, -1) == LUA_TSTRING, "err.kind is a string");
    lua_pop(L, 1);
    lua_getfield(L, err, "message");
    VN_CHECK(lua_type(L, -1) == LUA_TSTRING, "err.message is a string");
    lua_pop(L, 1);
    lua_getfield(L, err, "status");
    VN_CHECK(lua_isnil(L, -1) || (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0), "err.status is a positive integer");
    lua_pop(L, 1);
    luaL_tolstring(L, err, NULL); /* error_tostring in core.c */
    VN_CHECK(strncmp(lua_tostring(L, -1), "vinano: ", 8) == 0, "tostring(err) starts with 'vinano: '");
    lua_pop(L, 1);
    return;
  }
  VN_CHECK(lua_istable(L, res), "res is a table");
  VN_CHECK(plain, "no result for a cancelled, oversized or failed transfer");
  if (r->op == VN_OP_POLL) {
    lua_getfield(L, res, "state");
    VN_CHECK(is_state(lua_tostring(L, -1)), "a poll result's state is pending, done or failed");
    if (strcmp(lua_tostring(L, -1), "done") == 0) {
      lua_getfield(L, res, "images");
      VN_CHECK(lua_istable(L, -1), "a done task has images");
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    VN_CHECK(r->status >= 200, "no poll result from a status below 200");
  } else if (r->op == VN_OP_GENERATE) {
    lua_getfield(L, res, "images");
    VN_CHECK(lua_istable(L, -1), "a generate result has images");
    lua_pop(L, 1);
    VN_CHECK(r->status >= 200 && r->status < 300, "a generate result comes from a 2xx");
  } else if (r->op == VN_OP_SUBMIT) {
    lua_getfield(L, res, "task_id");
    VN_CHECK(lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER, "a submit result has a task_id");
    lua_pop(L, 1);
    VN_CHECK(r->status >= 200 && r->status < 300, "a submit result comes from a 2xx");
  } else {
    lua_getfield(L, res, "path");
    VN_CHECK(lua_type(L, -1) == LUA_TSTRING, "a download result has a path");
    lua_pop(L, 1);
    VN_CHECK(!r->file_error, "no download result after a file error");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = vn_fuzz_state();
  int base = lua_gettop(L);
  vn_request r;
  int has_body;
  size_t off;

  memset(&r, 0, sizeof r);
  r.easy = NULL;
  r.code = CURLE_OK;
  r.state = VN_DONE;
  r.self_ref = r.result_ref = LUA_NOREF;
  raw_mode = reuse_mode = 0;
  off = parse_header(data, size, &r, &has_body);
  if (r.op == VN_OP_DOWNLOAD) {
    r.path = (char *)"out/fuzz.png";
    r.written = (curl_off_t)(size - off);
  }
  if (raw_mode) {
    int cancelled = r.cancelled, too_large = r.too_large;
    CURL *e = curl_easy_init();
    const uint8_t *second = NULL;
    static const char sep[] = "\n==next==\n";
    size_t i;
    if (!e) abort();
    for (i = off; reuse_mode && i + sizeof sep - 1 <= size; i++)
      if (memcmp(data + i, sep, sizeof sep - 1) == 0) {
        second = data + i + sizeof sep - 1;
        break;
      }
    if (second) { /* one request, then the next on the handle the pool gives back */
      vn_request first;
      vn_client pool;
      memset(&first, 0, sizeof first);
      memset(&pool, 0, sizeof pool);
      first.op = r.op;
      perform_raw(&first, e, data + off, i - off);
      free(first.body.data);
      vn_client_release_easy(&pool, e);
      e = pool.npool > 0 ? pool.pool[--pool.npool] : curl_easy_init(); /* client.c's acquire_easy */
      if (!e) abort();
      off = (size_t)(second - data);
    }
    perform_raw(&r, e, data + off, size - off);
    r.cancelled = cancelled, r.too_large = too_large;
  } else if (has_body) {
    r.body.len = size - off;
    r.body.cap = r.body.len;
    r.body.data = (char *)malloc(r.body.len ? r.body.len : 1);
    if (!r.body.data) abort();
    if (r.body.len) memcpy(r.body.data, data + off, r.body.len);
  }

  lua_pushcfunction(L, vn_fuzz_traceback);
  vn_fuzz_push_decoder(L);
  lua_pushcclosure(L, call_push, 1);
  lua_pushlightuserdata(L, &r);
  if (lua_pcall(L, 1, LUA_MULTRET, base + 1) != LUA_OK) vn_fuzz_die(L, "vn_response_push raised");
  lua_remove(L, base + 1); /* the traceback handler */
  check_results(L, base, &r);
  if (getenv("VINANO_FUZZ_VERBOSE")) {
    if (lua_isnil(L, base + 1)) {
      fprintf(stderr, "response: err %s\n", luaL_tolstring(L, base + 2, NULL));
    } else {
      lua_getfield(L, base + 1, "state");
      fprintf(stderr, "response: res%s%s\n", lua_isstring(L, -1) ? " state=" : "", lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
    }
  }

  free(r.body.data);
  if (r.easy) curl_easy_cleanup(r.easy);
  vn_fuzz_end_input(L, base);
  return 0;
}

static void cleanup(void) {
  if (multi) curl_multi_cleanup(multi);
  multi = NULL;
  if (listener >= 0) {
    close(listener);
    unlink(socket_path);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  atexit(cleanup);
  return 0;
}
