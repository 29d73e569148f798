/*
 * bench/floor.c: the floor vinano is measured against.  The same requests
 * vinano sends, made the way a careful C client on raw libcurl would, with
 * nothing on top: no Lua, no validation, no JSON decode, no result tables.
 *
 *   floor sync  BASE CA TOKEN N ROUNDS [IMAGE...]
 *       one easy handle reused for every request (keep-alive), a curl_mime
 *       built per request, curl_easy_perform; prints the microseconds per
 *       request of each round.
 *   floor multi BASE CA TOKEN INFLIGHT N ROUNDS [IMAGE...]
 *       one multi handle, INFLIGHT easy handles kept busy until N requests
 *       are done (a handle is re-armed with a new form as soon as it
 *       finishes); prints the wall microseconds per request of each round.
 *   floor idle  BASE CA TOKEN INFLIGHT ITER
 *       INFLIGHT requests to an endpoint that holds them, then ITER calls of
 *       curl_multi_perform that find nothing to do: prints the median and p99
 *       microseconds of one call (what vinano's step(0) wraps).
 *
 * With FLOOR_HTTP11 set in the environment it speaks HTTP/1.1 (keep-alive)
 * instead of the HTTP/2 that libcurl negotiates by default.  With
 * FLOOR_HAND_BODY set (no images) the same fields go as a multipart body
 * built by hand (a new boundary each request, CURLOPT_POSTFIELDS) instead
 * of a curl_mime: what libcurl's mime machinery costs, since vinano's core
 * writes its body itself.
 *
 * The rounds are preceded by an untimed warm-up (50 requests, or 4 per
 * handle in flight) that opens the connections; multi first sends one
 * request alone, so that every transfer then shares its HTTP/2 connection
 * (otherwise how many connections the first burst opens varies per run).  Every response must be HTTP 200 with a body, or it exits 1.
 * Build: cc -O2 -o floor floor.c -lcurl
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  CURL *easy;
  curl_mime *mime;
  char *body;
  size_t len, cap;
  char form[1024];                /* FLOOR_HAND_BODY: the request body */
  char ctype[128];                /* and its Content-Type line */
  struct curl_slist ctype_node;   /* before the Authorization line */
} xfer;

static const char *g_url, *g_ca;
static struct curl_slist *g_headers;
static char **g_images;
static int g_nimages;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud) {
  xfer *x = (xfer *)ud;
  size_t k = size * n;
  if (x->len + k > x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 4096;
    while (cap < x->len + k) cap *= 2;
    x->body = (char *)realloc(x->body, cap);
    if (!x->body) return 0;
    x->cap = cap;
  }
  memcpy(x->body + x->len, p, k);
  x->len += k;
  return k;
}

static void die(const char *what) {
  fprintf(stderr, "floor: %s\n", what);
  exit(1);
}

static const char *const fields[][2] = {{"prompt", "a beautiful sunset over the ocean"},
                                        {"model", "gemini-2.5-flash-image-preview"},
                                        {"aspectRatio", "16:9"},
                                        {"googleSearch", "false"},
                                        {"mode", "txt2img"}};

/* The same fields as a body built by hand, with a boundary of its own. */
static void arm_by_hand(xfer *x) {
  static unsigned long long seed = 0x2545F4914F6CDD1DULL;
  char boundary[41];
  size_t n = 0, i;
  seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  snprintf(boundary, sizeof boundary, "--------%016llx%016llx", seed, seed * 31);
  for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
    n += (size_t)snprintf(x->form + n, sizeof x->form - n,
                          "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", boundary, fields[i][0],
                          fields[i][1]);
  n += (size_t)snprintf(x->form + n, sizeof x->form - n, "--%s--\r\n", boundary);
  snprintf(x->ctype, sizeof x->ctype, "Content-Type: multipart/form-data; boundary=%s", boundary);
  x->ctype_node.data = x->ctype;
  x->ctype_node.next = g_headers;
  curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, &x->ctype_node);
  curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, (long)n);
  curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->form);
  x->len = 0;
}

/* The quick-start fields of the API page, plus the images if any. */
static void arm(xfer *x) {
  curl_mimepart *part;
  int i;
  if (getenv("FLOOR_HAND_BODY")) {
    arm_by_hand(x);
    return;
  }
  curl_mime_free(x->mime);
  x->mime = curl_mime_init(x->easy);
  for (i = 0; i < (int)(sizeof fields / sizeof fields[0]); i++) {
    part = curl_mime_addpart(x->mime);
    curl_mime_name(part, fields[i][0]);
    curl_mime_data(part, fields[i][1], CURL_ZERO_TERMINATED);
  }
  for (i = 0; i < g_nimages; i++) {
    part = curl_mime_addpart(x->mime);
    curl_mime_name(part, "image");
    if (curl_mime_filedata(part, g_images[i]) != CURLE_OK) die("cannot stream an image");
  }
  curl_easy_setopt(x->easy, CURLOPT_MIMEPOST, x->mime);
  x->len = 0;
}

static void init_xfer(xfer *x) {
  memset(x, 0, sizeof *x);
  x->easy = curl_easy_init();
  if (!x->easy) die("curl_easy_init");
  curl_easy_setopt(x->easy, CURLOPT_URL, g_url);
  curl_easy_setopt(x->easy, CURLOPT_CAINFO, g_ca);
  curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, g_headers);
  curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "floor/1");
  curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, 180000L);
  curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
  /* FLOOR_HTTP11=1: HTTP/1.1 instead of the HTTP/2 libcurl picks by ALPN */
  if (getenv("FLOOR_HTTP11")) curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
}

static void check_done(xfer *x, CURLcode code) {
  long status = 0;
  if (code != CURLE_OK) {
    fprintf(stderr, "floor: %s\n", curl_easy_strerror(code));
    exit(1);
  }
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200 || x->len == 0) {
    fprintf(stderr, "floor: HTTP %ld, %zu bytes\n", status, x->len);
    exit(1);
  }
}

static void run_sync(int n, int rounds) {
  xfer x;
  int r, i;
  init_xfer(&x);
  for (r = -1; r < rounds; r++) { /* round -1: warm-up */
    int k = r < 0 ? (n < 50 ? n : 50) : n;
    double t0 = now_us();
    for (i = 0; i < k; i++) {
      arm(&x);
      check_done(&x, curl_easy_perform(x.easy));
    }
    if (r >= 0) printf("%s%.2f", r ? " " : "", (now_us() - t0) / n);
  }
  printf("\n");
  curl_mime_free(x.mime);
  curl_easy_cleanup(x.easy);
  free(x.body);
}

static void run_multi(int inflight, int total, int rounds) {
  CURLM *multi = curl_multi_init();
  xfer *xs = (xfer *)calloc((size_t)inflight, sizeof *xs);
  int r, i;
  if (!multi || !xs) die("out of memory");
  for (i = 0; i < inflight; i++) init_xfer(&xs[i]);
  { /* one request alone first: its HTTP/2 connection is then shared by all */
    int still = 1;
    CURLMsg *m;
    int left;
    arm(&xs[0]);
    curl_multi_add_handle(multi, xs[0].easy);
    while (still) {
      curl_multi_perform(multi, &still);
      if (still) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    while ((m = curl_multi_info_read(multi, &left)) != NULL)
      if (m->msg == CURLMSG_DONE) check_done(&xs[0], m->data.result);
    curl_multi_remove_handle(multi, xs[0].easy);
  }
  for (r = -1; r < rounds; r++) { /* round -1: warm-up, 4 per handle */
    int started = 0, done = 0, still = 0;
    int n = r < 0 && 4 * inflight < total ? 4 * inflight : total;
    double t0 = now_us();
    for (i = 0; i < inflight && started < n; i++, started++) {
      arm(&xs[i]);
      curl_multi_add_handle(multi, xs[i].easy);
    }
    while (done < n) {
      CURLMsg *m;
      int left;
      curl_multi_perform(multi, &still);
      while ((m = curl_multi_info_read(multi, &left)) != NULL) {
        xfer *x;
        if (m->msg != CURLMSG_DONE) continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        check_done(x, m->data.result);
        curl_multi_remove_handle(multi, x->easy);
        done++;
        if (started < n) {
          started++;
          arm(x);
          curl_multi_add_handle(multi, x->easy);
        }
      }
      if (done < n) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    if (r >= 0) printf("%s%.2f", r ? " " : "", (now_us() - t0) / n);
  }
  printf("\n");
  for (i = 0; i < inflight; i++) {
    curl_mime_free(xs[i].mime);
    curl_easy_cleanup(xs[i].easy);
    free(xs[i].body);
  }
  free(xs);
  curl_multi_cleanup(multi);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* curl_multi_perform with INFLIGHT transfers held by the server. */
static void run_idle(int inflight, int iters) {
  CURLM *multi = curl_multi_init();
  xfer *xs = (xfer *)calloc((size_t)inflight, sizeof *xs);
  double *t = (double *)calloc((size_t)iters, sizeof *t);
  int i, still = 0;
  double settle;
  if (!multi || !xs || !t) die("out of memory");
  for (i = 0; i < inflight; i++) {
    init_xfer(&xs[i]);
    arm(&xs[i]);
    curl_multi_add_handle(multi, xs[i].easy);
  }
  /* let every connection open and every request go out */
  settle = now_us() + 2e6;
  while (now_us() < settle) {
    curl_multi_perform(multi, &still);
    curl_multi_poll(multi, NULL, 0, 50, NULL);
  }
  for (i = 0; i < iters; i++) {
    double t0 = now_us();
    curl_multi_perform(multi, &still);
    t[i] = now_us() - t0;
  }
  qsort(t, (size_t)iters, sizeof *t, cmp_double);
  printf("%d %.2f %.2f\n", still, t[iters / 2], t[iters * 99 / 100]);
  for (i = 0; i < inflight; i++) {
    curl_multi_remove_handle(multi, xs[i].easy);
    curl_mime_free(xs[i].mime);
    curl_easy_cleanup(xs[i].easy);
    free(xs[i].body);
  }
  free(xs);
  free(t);
  curl_multi_cleanup(multi);
}

int main(int argc, char **argv) {
  char auth[256];
  static char url[1024];
  if (argc < 5) {
    fprintf(stderr, "usage: floor sync|multi|idle BASE CA TOKEN ...\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  snprintf(url, sizeof url, "%s/api/v2/images/generate", argv[2]);
  g_url = url;
  g_ca = argv[3];
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[4]);
  g_headers = curl_slist_append(NULL, auth);
  if (strcmp(argv[1], "sync") == 0 && argc >= 7) {
    g_images = argv + 7;
    g_nimages = argc - 7;
    run_sync(atoi(argv[5]), atoi(argv[6]));
  } else if (strcmp(argv[1], "multi") == 0 && argc >= 8) {
    g_images = argv + 8;
    g_nimages = argc - 8;
    run_multi(atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
  } else if (strcmp(argv[1], "idle") == 0 && argc >= 7) {
    run_idle(atoi(argv[5]), atoi(argv[6]));
  } else {
    fprintf(stderr, "floor: bad arguments\n");
    return 2;
  }
  curl_slist_free_all(g_headers);
  curl_global_cleanup();
  return 0;
}
