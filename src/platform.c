/*
 * The POSIX calls of the core, and their Windows counterparts (built by
 * mingw-w64 and run under Wine in `make check-windows`).
 */
#ifdef _WIN32
#define _CRT_RAND_S /* rand_s, from the system's random source */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"

#ifdef _WIN32
#include <windows.h>
#include <io.h>
#include <direct.h>
#include <fcntl.h>
#include <sys/stat.h>
#else
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif
#endif

void vn_wipe(void *p, size_t n) {
  volatile unsigned char *v = (volatile unsigned char *)p;
  while (n--) *v++ = 0;
}

void vn_strerror(int err, char *buf, size_t bufsize) {
  const char *s = strerror(err); /* not reentrant, but the core runs in one thread */
  snprintf(buf, bufsize, "%s", s ? s : "unknown error");
}

#ifdef _WIN32

double vn_now(void) {
  LARGE_INTEGER f, c;
  QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&c);
  return (double)c.QuadPart / (double)f.QuadPart;
}

void vn_sleep(double s) {
  double ms = s * 1000.0;
  Sleep(ms >= 4294967294.0 ? 4294967294u : (DWORD)ms);
}

int vn_poll(vn_pollfd *fds, size_t n, int timeout_ms) {
  int r;
  if (n == 0) {
    if (timeout_ms > 0) Sleep((DWORD)timeout_ms);
    return 0;
  }
  r = WSAPoll(fds, (ULONG)n, timeout_ms);
  return r == SOCKET_ERROR ? -1 : r;
}

void vn_socket_close(curl_socket_t s) { closesocket(s); }

#else

double vn_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void vn_sleep(double s) {
  struct timespec ts;
  if (!(s > 0)) return;
  if (s > 1e9) s = 1e9; /* 31 years: fits every time_t */
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  if (ts.tv_nsec > 999999999L) ts.tv_nsec = 999999999L;
  if (ts.tv_nsec < 0) ts.tv_nsec = 0;
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

int vn_poll(vn_pollfd *fds, size_t n, int timeout_ms) {
  int r = poll(fds, (nfds_t)n, timeout_ms);
  if (r < 0 && errno == EINTR) return 0;
  return r;
}

void vn_socket_close(curl_socket_t s) { close(s); }

#endif

#if defined(__linux__)

int vn_pollset_new(void) { return epoll_create1(EPOLL_CLOEXEC); }

int vn_pollset_set(int set, curl_socket_t fd, int events) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = ((events & VN_POLLIN) ? EPOLLIN : 0u) | ((events & VN_POLLOUT) ? EPOLLOUT : 0u);
  ev.data.fd = fd;
  if (!events) return epoll_ctl(set, EPOLL_CTL_DEL, fd, &ev) == 0 || errno == ENOENT ? 0 : errno;
  if (epoll_ctl(set, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
  if (errno != ENOENT) return errno;
  return epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

int vn_pollset_ready(int set, vn_pollfd *out, int room) {
  struct epoll_event evs[32];
  int i, n;
  if (room > 32) room = 32;
  n = epoll_wait(set, evs, room, 0);
  for (i = 0; i < n; i++) {
    unsigned e = evs[i].events;
    out[i].fd = evs[i].data.fd;
    out[i].events = 0;
    out[i].revents = (short)(((e & EPOLLIN) ? VN_POLLIN : 0) | ((e & EPOLLOUT) ? VN_POLLOUT : 0) |
                             ((e & (EPOLLERR | EPOLLHUP)) ? POLLERR : 0));
  }
  return n < 0 ? 0 : n;
}

void vn_pollset_close(int set) {
  if (set >= 0) close(set);
}

#else

int vn_pollset_new(void) { return -1; }
int vn_pollset_set(int set, curl_socket_t fd, int events) { return (void)set, (void)fd, (void)events, EINVAL; }
int vn_pollset_ready(int set, vn_pollfd *out, int room) { return (void)set, (void)out, (void)room, 0; }
void vn_pollset_close(int set) { (void)set; }

#endif

static int type_of(unsigned long m) {
#ifdef _WIN32
  if ((m & _S_IFMT) == _S_IFREG) return VN_FT_FILE;
  if ((m & _S_IFMT) == _S_IFDIR) return VN_FT_DIR;
  return VN_FT_OTHER;
#else
  if (S_ISREG(m)) return VN_FT_FILE;
  if (S_ISDIR(m)) return VN_FT_DIR;
  if (S_ISFIFO(m)) return VN_FT_FIFO;
  if (S_ISSOCK(m)) return VN_FT_SOCKET;
  if (S_ISCHR(m) || S_ISBLK(m)) return VN_FT_DEVICE;
  if (S_ISLNK(m)) return VN_FT_LINK;
  return VN_FT_OTHER;
#endif
}

int vn_stat(const char *path, vn_fileinfo *fi, char *msg, size_t msgsize) {
  struct stat st;
  char why[128];
  memset(fi, 0, sizeof *fi);
#ifndef _WIN32
  if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) fi->link = 1;
#endif
  if (stat(path, &st) != 0) {
    int e = errno;
    vn_strerror(e, why, sizeof why);
    snprintf(msg, msgsize, "%s: %s", path, why);
    return e ? e : EIO;
  }
  fi->type = type_of((unsigned long)st.st_mode);
  fi->size = (double)st.st_size;
  fi->mode = (unsigned)st.st_mode & 07777u;
  return 0;
}

int vn_readable(const char *path, char *msg, size_t msgsize) {
  struct stat st;
  char why[128];
  int fd;
#ifdef _WIN32
  fd = _open(path, _O_RDONLY | _O_BINARY);
#else
  fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
#endif
  if (fd < 0) {
    int e = errno;
    vn_strerror(e, why, sizeof why);
    snprintf(msg, msgsize, "%s: %s", path, why);
    return e ? e : EIO;
  }
  if (fstat(fd, &st) != 0 || type_of((unsigned long)st.st_mode) != VN_FT_FILE) {
    close(fd);
    snprintf(msg, msgsize, "%s: not a regular file", path);
    return EINVAL;
  }
  close(fd);
  return 0;
}

int vn_read_open(const char *path, int *fd) {
  struct stat st;
#ifdef _WIN32
  *fd = _open(path, _O_RDONLY | _O_BINARY);
#else
  *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
#endif
  if (*fd < 0) return errno ? errno : EIO;
  if (fstat(*fd, &st) != 0 || type_of((unsigned long)st.st_mode) != VN_FT_FILE) {
    close(*fd);
    *fd = -1;
    return EINVAL;
  }
  return 0;
}

long vn_read(int fd, void *p, size_t n, int *err) {
  for (;;) {
#ifdef _WIN32
    int r = _read(fd, p, n > 0x40000000u ? 0x40000000u : (unsigned)n);
#else
    ssize_t r = read(fd, p, n);
#endif
    if (r >= 0) return (long)r;
    if (errno == EINTR) continue;
    *err = errno ? errno : EIO;
    return -1;
  }
}

int vn_read_seek(int fd, curl_off_t at) {
#ifdef _WIN32
  return _lseeki64(fd, (__int64)at, SEEK_SET) < 0 ? (errno ? errno : EIO) : 0;
#else
  return lseek(fd, (off_t)at, SEEK_SET) < 0 ? (errno ? errno : EIO) : 0;
#endif
}

void vn_read_close(int fd) {
  if (fd >= 0) close(fd);
}

int vn_random(void *p, size_t n) {
  unsigned char *b = (unsigned char *)p;
  size_t got = 0;
  int err = EIO;
#ifdef _WIN32
  while (got < n) {
    unsigned int r;
    size_t k;
    if (rand_s(&r) != 0) break;
    for (k = 0; k < sizeof r && got < n; k++, r >>= 8) b[got++] = (unsigned char)r;
  }
#else
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    while (got < n) {
      ssize_t r = read(fd, b + got, n - got);
      if (r > 0)
        got += (size_t)r;
      else if (r < 0 && errno == EINTR)
        continue;
      else
        break;
    }
    close(fd);
  } else {
    err = errno ? errno : EIO;
  }
#endif
  if (got == n) return 0;
  { /* no random source: the clock and an address, mixed (unique, not secret) */
    double t = vn_now();
    size_t i;
    unsigned long long x = (unsigned long long)(size_t)p ^ (unsigned long long)(t * 1e9);
    for (i = got; i < n; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      b[i] = (unsigned char)x;
    }
  }
  return err;
}

static int make_dir(const char *p) {
#ifdef _WIN32
  return _mkdir(p);
#else
  return mkdir(p, 0777);
#endif
}

/* How much of path is its root, which is never made: "/" here; on Windows a
 * drive ("C:", "C:\\") or a UNC share ("\\\\server\\share\\"), where _mkdir
 * fails with ENOENT rather than EEXIST. */
static size_t root_length(const char *p) {
#ifdef _WIN32
  size_t i;
  int k;
  if (((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':')
    return p[2] == '/' || p[2] == '\\' ? 3 : 2;
  if ((p[0] == '/' || p[0] == '\\') && (p[1] == '/' || p[1] == '\\')) {
    for (i = 2, k = 0; k < 2; k++) { /* the server, then the share */
      while (p[i] && p[i] != '/' && p[i] != '\\') i++;
      if (p[i]) i++;
    }
    return i;
  }
#endif
  return p[0] == '/' || p[0] == '\\' ? 1 : 0;
}

int vn_mkdir_parents(const char *path) {
  size_t n = strlen(path), i, root;
  char *p = (char *)malloc(n + 1);
  int err = 0;
  if (!p) return ENOMEM;
  memcpy(p, path, n + 1);
  /* the parent: everything before the last separator */
  while (n > 0 && p[n - 1] != '/' && p[n - 1] != '\\') n--;
  while (n > 1 && (p[n - 1] == '/' || p[n - 1] == '\\')) n--;
  p[n] = '\0';
  root = root_length(p);
  for (i = root + 1; i <= n && !err; i++) {
    if (i == n || p[i] == '/' || p[i] == '\\') {
      char c = p[i];
      struct stat st;
      p[i] = '\0';
      if (make_dir(p) != 0 && errno != EEXIST) err = errno ? errno : EIO;
      else if (stat(p, &st) != 0) err = errno ? errno : EIO;
      else if (type_of((unsigned long)st.st_mode) != VN_FT_DIR) err = ENOTDIR;
      p[i] = c;
    }
  }
  free(p);
  return err;
}

#define VN_TMP_SUFFIX ".vinano-XXXXXX"

int vn_mkstemp_beside(const char *path, vn_file *f) {
  size_t n = strlen(path);
  f->fd = -1;
  f->tmp_path = (char *)malloc(n + sizeof VN_TMP_SUFFIX);
  if (!f->tmp_path) return ENOMEM;
  memcpy(f->tmp_path, path, n);
  memcpy(f->tmp_path + n, VN_TMP_SUFFIX, sizeof VN_TMP_SUFFIX);
#ifdef _WIN32
  if (_mktemp_s(f->tmp_path, n + sizeof VN_TMP_SUFFIX) == 0)
    f->fd = _open(f->tmp_path, _O_WRONLY | _O_CREAT | _O_EXCL | _O_BINARY, _S_IREAD | _S_IWRITE);
#else
  f->fd = mkstemp(f->tmp_path);
#endif
  if (f->fd < 0) {
    int e = errno ? errno : EIO;
    free(f->tmp_path);
    f->tmp_path = NULL;
    return e;
  }
  return 0;
}

int vn_file_write(vn_file *f, const void *p, size_t n) {
  const char *s = (const char *)p;
  while (n > 0) {
#ifdef _WIN32
    int w = _write(f->fd, s, n > 0x40000000u ? 0x40000000u : (unsigned)n);
#else
    ssize_t w = write(f->fd, s, n);
#endif
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno ? errno : EIO;
    }
    if (w == 0) return EIO;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

void vn_file_discard(vn_file *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
  if (f->tmp_path) {
    remove(f->tmp_path);
    free(f->tmp_path);
    f->tmp_path = NULL;
  }
}

int vn_file_commit(vn_file *f, const char *path) {
  int err = 0;
#ifdef _WIN32
  if (_close(f->fd) != 0) err = errno ? errno : EIO;
  f->fd = -1;
  if (!err && !MoveFileExA(f->tmp_path, path, MOVEFILE_REPLACE_EXISTING)) err = EACCES;
#else
  struct stat st;
  mode_t mode;
  if (stat(path, &st) == 0) {
    mode = st.st_mode & 07777;
  } else {
    mode_t mask = umask(0); /* read it: set, then put it back at once */
    umask(mask);
    mode = 0666 & ~mask;
  }
  if (fchmod(f->fd, mode) != 0) err = errno ? errno : EIO;
  if (close(f->fd) != 0 && !err) err = errno ? errno : EIO;
  f->fd = -1;
  if (!err && rename(f->tmp_path, path) != 0) err = errno ? errno : EIO;
#endif
  if (err) {
    vn_file_discard(f);
    return err;
  }
  free(f->tmp_path);
  f->tmp_path = NULL;
  return 0;
}

int vn_create_private(const char *path) {
#ifdef _WIN32
  int fd = _open(path, _O_WRONLY | _O_CREAT | _O_APPEND | _O_BINARY, _S_IREAD | _S_IWRITE);
  if (fd < 0) return errno;
  _close(fd);
#else
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  close(fd);
#endif
  return 0;
}

int vn_lock_file(FILE *f) {
#ifdef _WIN32
  OVERLAPPED at;
  HANDLE h = (HANDLE)_get_osfhandle(_fileno(f));
  memset(&at, 0, sizeof at);
  if (h == INVALID_HANDLE_VALUE) return EBADF;
  if (!LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, MAXDWORD, MAXDWORD, &at))
    return GetLastError() == ERROR_LOCK_VIOLATION ? EWOULDBLOCK : EIO;
#else
  if (flock(fileno(f), LOCK_EX | LOCK_NB) != 0) return errno == EWOULDBLOCK ? EWOULDBLOCK : errno;
#endif
  return 0;
}

int vn_fsync(FILE *f) {
  if (fflush(f) != 0) return errno ? errno : EIO;
#ifdef _WIN32
  if (_commit(_fileno(f)) != 0) return errno;
#else
  if (fsync(fileno(f)) != 0) return errno;
#endif
  return 0;
}
