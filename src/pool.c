/*
 * A client's libcurl side: the multi handle (its connection cache is what
 * keeps connections alive across transfers), a share handle for DNS and TLS
 * sessions, spare easy handles, the transfers attached, and the sockets and
 * timer libcurl asks to watch.  libcurl's callbacks here only record.
 *
 * Socket changes are also kept for a host driver that watches the sockets
 * itself (c:sockets()).  A socket libcurl closes while such a host still
 * watches it is closed only once the host has read its "remove" (then at the
 * next call into the client), so no watcher ever points at a reused fd.
 */
#include <stdlib.h>
#include <string.h>

#include "vinano.h"

static int grow(void **arr, size_t *cap, size_t need, size_t size) {
  void *p;
  size_t n;
  if (need <= *cap) return 1;
  n = *cap ? *cap * 2 : 8;
  while (n < need) n *= 2;
  p = realloc(*arr, n * size);
  if (!p) return 0;
  *arr = p;
  *cap = n;
  return 1;
}

static vn_sock *find(vn_sock *v, size_t n, curl_socket_t fd) {
  size_t i;
  for (i = 0; i < n; i++)
    if (v[i].fd == fd) return &v[i];
  return NULL;
}

static int is_watched(const vn_pool *p, curl_socket_t fd) {
  size_t i;
  for (i = 0; i < p->nwatched; i++)
    if (p->watched[i] == fd) return 1;
  return 0;
}

/* The change list for a host: the latest wish per socket, a "remove" only
 * for a socket the host has seen. */
static void record_change(vn_pool *p, curl_socket_t fd, int what) {
  size_t i, j;
  if (!p->hosted) return;
  if (what == CURL_POLL_REMOVE) {
    int last_is_remove = 0;
    /* drop unread wishes for this socket; keep an unread remove */
    for (i = j = 0; i < p->nchanges; i++) {
      if (p->changes[i].fd == fd && p->changes[i].what != CURL_POLL_REMOVE) continue;
      if (p->changes[i].fd == fd) last_is_remove = 1;
      p->changes[j++] = p->changes[i];
    }
    p->nchanges = j;
    if (!is_watched(p, fd) || last_is_remove) return;
  } else {
    for (i = p->nchanges; i > 0; i--) {
      if (p->changes[i - 1].fd != fd) continue;
      if (p->changes[i - 1].what != CURL_POLL_REMOVE) {
        p->changes[i - 1].what = what;
        return;
      }
      break;
    }
  }
  if (!grow((void **)&p->changes, &p->capchanges, p->nchanges + 1, sizeof *p->changes)) return;
  p->changes[p->nchanges].fd = fd;
  p->changes[p->nchanges].what = what;
  p->nchanges++;
}

static void forget_socket(vn_pool *p, curl_socket_t fd) {
  vn_sock *s = find(p->socks, p->nsocks, fd);
  if (s) *s = p->socks[--p->nsocks];
}

static int events_of_what(int what) {
  return ((what & CURL_POLL_IN) ? VN_POLLIN : 0) | ((what & CURL_POLL_OUT) ? VN_POLLOUT : 0);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp) {
  vn_pool *p = (vn_pool *)userp;
  (void)e, (void)socketp;
  if (p->pollset >= 0) vn_pollset_set(p->pollset, fd, what == CURL_POLL_REMOVE ? 0 : events_of_what(what));
  if (what == CURL_POLL_REMOVE) {
    forget_socket(p, fd);
  } else {
    vn_sock *s = find(p->socks, p->nsocks, fd);
    if (!s) {
      if (!grow((void **)&p->socks, &p->capsocks, p->nsocks + 1, sizeof *p->socks)) return -1;
      s = &p->socks[p->nsocks++];
      s->fd = fd;
    }
    s->what = what;
  }
  record_change(p, fd, what);
  return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp) {
  vn_pool *p = (vn_pool *)userp;
  (void)m;
  if (timeout_ms < 0) {
    p->has_deadline = 0;
  } else {
    p->has_deadline = 1;
    p->deadline = vn_now() + (double)timeout_ms / 1000.0;
  }
  return 0;
}

static int on_close_socket(void *clientp, curl_socket_t fd) {
  vn_pool *p = (vn_pool *)clientp;
  if (p->pollset >= 0) vn_pollset_set(p->pollset, fd, 0); /* in case libcurl did not say */
  if (!p->closing && p->hosted && is_watched(p, fd) &&
      grow((void **)&p->closes, &p->capcloses, p->ncloses + 1, sizeof *p->closes)) {
    forget_socket(p, fd);
    record_change(p, fd, CURL_POLL_REMOVE); /* in case libcurl did not say */
    p->closes[p->ncloses].fd = fd;
    p->closes[p->ncloses].what = 0;
    p->ncloses++;
    return 0;
  }
  vn_socket_close(fd);
  return 0;
}

int vn_pool_init(vn_pool *p) {
  memset(p, 0, sizeof *p);
  p->pollset = -1;
  p->attached.prev = p->attached.next = &p->attached;
  vn_random(&p->form_random, sizeof p->form_random);
  p->multi = curl_multi_init();
  p->share = curl_share_init();
  if (!p->multi || !p->share) return 0;
  curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
  curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
  return 1;
}

/* The caller has detached every transfer first. */
void vn_pool_cleanup(vn_pool *p) {
  size_t i;
  p->closing = 1;
  for (i = 0; i < p->ncloses; i++) vn_socket_close(p->closes[i].fd);
  p->ncloses = 0;
  while (p->neasy > 0) curl_easy_cleanup(p->easy[--p->neasy]);
  free(p->easy);
  p->easy = NULL;
  p->capeasy = 0;
  if (p->multi) curl_multi_cleanup(p->multi); /* closes cached connections, at once */
  p->multi = NULL;
  if (p->share) curl_share_cleanup(p->share);
  p->share = NULL;
  if (p->pollset >= 0) vn_pollset_close(p->pollset);
  p->pollset = -1;
  free(p->socks);
  free(p->changes);
  free(p->watched);
  free(p->closes);
  p->socks = p->changes = p->closes = NULL;
  p->watched = NULL;
  p->nsocks = p->nchanges = p->nwatched = 0;
}

/* libcurl before 8.1.0 keeps a pointer to the last response header of a
 * transfer after freeing it (curl/curl#11101): a reused handle whose next
 * response starts with a folded header line writes through it.  There every
 * transfer gets a new handle; connections still live in the multi's cache
 * and DNS and TLS sessions in the share handle. */
static int can_reuse_easy(void) {
  static int ok = -1;
  if (ok < 0) ok = curl_version_info(CURLVERSION_NOW)->version_num >= 0x080100;
  return ok;
}

CURL *vn_pool_take_easy(vn_pool *p) {
  /* running is counted once the transfer is added: this one comes on top */
  if (p->running + 1 > p->peak) p->peak = p->running + 1;
  return p->neasy > 0 ? p->easy[--p->neasy] : curl_easy_init();
}

/* Spares follow the concurrency in use: kept while spares and transfers in
 * flight stay within the peak in flight (a burst of 64 keeps 64 ready, one
 * at a time keeps one), never more than SPARE_MAX. */
#define SPARE_MAX 1024

void vn_pool_give_easy(vn_pool *p, CURL *e) {
  if (!e) return;
  if (p && !p->closing && can_reuse_easy() && p->neasy + p->running < p->peak && p->neasy < SPARE_MAX &&
      grow((void **)&p->easy, &p->capeasy, (size_t)p->neasy + 1, sizeof *p->easy)) {
    curl_easy_reset(e);
    p->easy[p->neasy++] = e;
  } else {
    curl_easy_cleanup(e);
  }
}

void vn_pool_setup_easy(vn_pool *p, CURL *e) {
  curl_easy_setopt(e, CURLOPT_SHARE, p->share);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, p);
}

void vn_pool_attach(vn_pool *p, vn_link *l) {
  l->next = p->attached.next;
  l->prev = &p->attached;
  p->attached.next->prev = l;
  p->attached.next = l;
}

void vn_pool_detach(vn_link *l) {
  if (!l->next) return;
  l->prev->next = l->next;
  l->next->prev = l->prev;
  l->prev = l->next = NULL;
}

void vn_pool_flush_closes(vn_pool *p) {
  size_t i, j;
  for (i = j = 0; i < p->ncloses; i++) {
    if (p->closes[i].what)
      vn_socket_close(p->closes[i].fd);
    else
      p->closes[j++] = p->closes[i];
  }
  p->ncloses = j;
}

int vn_pool_timeout(const vn_pool *p, int cap) {
  double left;
  int ms;
  if (!p->has_deadline) return cap;
  left = (p->deadline - vn_now()) * 1000.0;
  if (!(left > 0)) return 0;
  ms = left >= 2147483646.0 ? 2147483646 : (int)left + 1;
  return cap >= 0 && cap < ms ? cap : ms;
}

size_t vn_pool_pollfds(const vn_pool *p, vn_pollfd *fds, size_t room) {
  size_t i, n = 0;
  for (i = 0; i < p->nsocks && n < room; i++) {
    int w = p->socks[i].what;
    fds[n].fd = p->socks[i].fd;
    fds[n].events = (short)events_of_what(w);
    fds[n].revents = 0;
    n++;
  }
  return n;
}

CURLMcode vn_pool_action(vn_pool *p, curl_socket_t fd, int ev) {
  int still = 0;
  /* Asked to run its timers, libcurl forgets the expiry it last reported
   * and afterwards calls on_timer only if a timer is left (7.88 multi.c,
   * multi_socket): with none left, no -1 comes, so the copy goes first. */
  if (fd == CURL_SOCKET_TIMEOUT) p->has_deadline = 0;
  return curl_multi_socket_action(p->multi, fd, ev, &still);
}

CURLMcode vn_pool_timer(vn_pool *p) {
  if (!p->has_deadline || p->deadline > vn_now()) return CURLM_OK;
  return vn_pool_action(p, CURL_SOCKET_TIMEOUT, 0);
}

int vn_pool_pollset(vn_pool *p) {
  size_t i;
  if (p->pollset >= 0) return p->pollset;
  p->pollset = vn_pollset_new();
  if (p->pollset < 0) return -1;
  /* a host that watched sockets itself before reads no more changes: what
   * waited for it to read a removal can be closed now */
  p->hosted = 0;
  p->nchanges = 0;
  for (i = 0; i < p->ncloses; i++) p->closes[i].what = 1;
  for (i = 0; i < p->nsocks; i++) vn_pollset_set(p->pollset, p->socks[i].fd, events_of_what(p->socks[i].what));
  return p->pollset;
}

size_t vn_pool_take_changes(vn_pool *p, vn_sock **out) {
  size_t i, n;
  if (!p->hosted) { /* the first call: everything watched so far */
    p->hosted = 1;
    for (i = 0; i < p->nsocks; i++) record_change(p, p->socks[i].fd, p->socks[i].what);
  }
  n = p->nchanges;
  *out = p->changes;
  for (i = 0; i < n; i++) {
    curl_socket_t fd = p->changes[i].fd;
    if (p->changes[i].what == CURL_POLL_REMOVE) {
      size_t j;
      for (j = 0; j < p->nwatched; j++)
        if (p->watched[j] == fd) p->watched[j--] = p->watched[--p->nwatched];
      for (j = 0; j < p->ncloses; j++)
        if (p->closes[j].fd == fd) p->closes[j].what = 1;
    } else if (!is_watched(p, fd) &&
               grow((void **)&p->watched, &p->capwatched, p->nwatched + 1, sizeof *p->watched)) {
      p->watched[p->nwatched++] = fd;
    }
  }
  p->changes = NULL;
  p->nchanges = p->capchanges = 0;
  return n;
}
