/*
 * platform.c: every call that is not ISO C or libcurl, behind one small
 * interface (POSIX here; the _WIN32 branches, for mingw-w64 + Schannel, are
 * built and run under Wine by `make check-windows`).  Nothing here knows Lua.
 */
#ifndef VINANO_PLATFORM_H
#define VINANO_PLATFORM_H

#include <stddef.h>
#include <stdio.h>
#include <curl/curl.h>

#ifdef _WIN32
#include <winsock2.h>
typedef WSAPOLLFD vn_pollfd;
#else
#include <poll.h>
typedef struct pollfd vn_pollfd;
#endif

#define VN_POLLIN POLLIN
#define VN_POLLOUT POLLOUT
#define VN_POLLERR (POLLERR | POLLHUP | POLLNVAL)

/* Monotonic seconds. */
double vn_now(void);
/* Sleeps s seconds (0 <= s, finite; the caller checks). */
void vn_sleep(double s);

enum vn_ftype { VN_FT_FILE, VN_FT_DIR, VN_FT_FIFO, VN_FT_SOCKET, VN_FT_DEVICE, VN_FT_LINK, VN_FT_OTHER };
typedef struct vn_fileinfo {
  int type;        /* enum vn_ftype, of the file a link points at */
  int link;        /* path itself is a symbolic link */
  double size;     /* bytes */
  unsigned mode;   /* permission bits */
} vn_fileinfo;

/* 0 on success; else an errno-like code and msg filled with the reason. */
int vn_stat(const char *path, vn_fileinfo *fi, char *msg, size_t msgsize);
/* Opens path for reading without blocking (a FIFO never blocks), checks it
 * is a regular file, closes it.  0 when readable; else msg says why. */
int vn_readable(const char *path, char *msg, size_t msgsize);

/* The system's reason for an error code, as strerror gives it. */
void vn_strerror(int err, char *buf, size_t bufsize);

/* Files: a descriptor opened by vn_mkstemp_beside, written, then renamed. */
typedef struct vn_file {
  int fd;         /* -1: none */
  char *tmp_path; /* malloc'd: path + a unique suffix */
} vn_file;

/* Reading a file to send: opened without blocking (and refused unless a
 * regular file), read, positioned, closed.  0 or errno; vn_read returns the
 * bytes read (0 at the end) or -1 with *err set. */
int vn_read_open(const char *path, int *fd);
long vn_read(int fd, void *p, size_t n, int *err);
int vn_read_seek(int fd, curl_off_t at);
void vn_read_close(int fd);

/* n bytes from the system's random source.  0, or errno (then p holds
 * bytes mixed from the clock and addresses: unique, not secret). */
int vn_random(void *p, size_t n);

/* Whether '\\' separates folders in a path, as '/' does. */
#ifdef _WIN32
#define VN_BACKSLASH_SEPARATES 1
#else
#define VN_BACKSLASH_SEPARATES 0
#endif

/* Creates missing parent folders of path (not path itself). 0 or errno. */
int vn_mkdir_parents(const char *path);
/* A new temporary file beside path (same folder), opened for writing. 0 or errno. */
int vn_mkstemp_beside(const char *path, vn_file *f);
/* Writes all n bytes; 0 or errno. */
int vn_file_write(vn_file *f, const void *p, size_t n);
/* Gives the file the mode path has now (replace), or the umask's for a new
 * file, closes it and renames it over path.  0 or errno; on any failure the
 * temporary file is removed. */
int vn_file_commit(vn_file *f, const char *path);
/* Closes and removes the temporary file (failure, cancel).  Idempotent. */
void vn_file_discard(vn_file *f);

/* poll(2) over sockets: number ready, 0 on timeout, -1 on error (EINTR is 0). */
int vn_poll(vn_pollfd *fds, size_t n, int timeout_ms);
/* A pollset: one descriptor standing for several sockets (Linux epoll),
 * readable while any member has an event.  A host loop watches that one
 * descriptor instead of each socket, so a member in error (a refused
 * connect, a reset) is never an error of a watched descriptor: libuv
 * reports those as UV_EBADF and luv prints them on stderr.  -1 where the
 * system has none (the host then watches each socket). */
int vn_pollset_new(void);
/* Watches fd for VN_POLLIN/VN_POLLOUT (events 0: forgets fd). 0 or errno. */
int vn_pollset_set(int set, curl_socket_t fd, int events);
/* Members with events now (never waits): fd and revents (VN_POLL* bits). */
int vn_pollset_ready(int set, vn_pollfd *out, int room);
void vn_pollset_close(int set);
/* Closes a socket libcurl opened. */
void vn_socket_close(curl_socket_t s);

/* Flushes a stdio stream and asks the system to put it on disk. 0 or errno. */
int vn_fsync(FILE *f);

/* Creates path if missing, readable and writable by its owner only (0600);
 * an existing file is left as it is.  0 or errno. */
int vn_create_private(const char *path);
/* Takes an exclusive lock on the open file without waiting, held until it is
 * closed (flock; LockFileEx on Windows).  0, EWOULDBLOCK when another
 * process holds it, or errno. */
int vn_lock_file(FILE *f);

/* A memset the compiler may not drop, for secrets. */
void vn_wipe(void *p, size_t n);

#endif
