/*
 * firstpaint: starts a GUI program and reports when its window first shows painted content.
 *
 *   firstpaint [-t TIMEOUT_S] [-o FRAME.ppm] CMD [ARGS...]
 *
 * The clock starts just before fork(). The program runs in a process group of its own. Every 4 ms the
 * tool lists the top-level windows of the X display ($DISPLAY), takes the mapped ones at least 200x200
 * pixels big that belong to the program (_NET_WM_PID, when the window has one) and reads their pixels
 * with XGetImage. A window whose pixels are all one colour has not painted its page yet (GTK fills a new
 * window with its background colour, WebKit an empty view with white); the first time one holds two
 * colours or more, the page has been painted, and the tool prints on stdout
 *
 *   first_paint_ms=1234.5 mapped_ms=456.7 pid=4242 window=0x1e00003
 *
 * and exits 0, leaving the program running (kill it with `kill -- -PID`). The program's own stdout goes to
 * stderr, so that `$(firstpaint ...)` returns at once. On timeout it kills the
 * program's process group and exits 1. With -o, the first painted frame is saved as a PPM image. Used by bench/app.sh for the desktop app and the bare window alike.
 *
 * Build: cc -O2 -o firstpaint firstpaint.c -lX11
 */
#define _POSIX_C_SOURCE 200809L
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Windows vanish between listing and reading: ignore X errors. */
static int ignore_errors(Display *d, XErrorEvent *e) {
  (void)d;
  (void)e;
  return 0;
}

/* The _NET_WM_PID of a window, or -1 when it has none. */
static long window_pid(Display *d, Window w, Atom net_wm_pid) {
  Atom type;
  int format;
  unsigned long n, after;
  unsigned char *data = NULL;
  long pid = -1;
  if (XGetWindowProperty(d, w, net_wm_pid, 0, 1, False, XA_CARDINAL, &type, &format, &n, &after, &data) ==
          Success &&
      data) {
    if (n == 1 && format == 32) pid = (long)*(unsigned long *)data;
    XFree(data);
  }
  return pid;
}

static const char *frame_path = NULL;

/* Saves an image as a binary PPM. */
static void save_ppm(XImage *img, int width, int height) {
  FILE *f = fopen(frame_path, "wb");
  if (!f) {
    perror("firstpaint: -o");
    return;
  }
  fprintf(f, "P6\n%d %d\n255\n", width, height);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      unsigned long p = XGetPixel(img, x, y);
      unsigned char rgb[3] = {(unsigned char)((p & img->red_mask) >> 16), (unsigned char)((p & img->green_mask) >> 8),
                              (unsigned char)(p & img->blue_mask)};
      fwrite(rgb, 1, 3, f);
    }
  fclose(f);
}

/* 1 when the window holds more than one colour; then *when is the time it was seen (before any saving). */
static int painted(Display *d, Window w, int width, int height, double *when) {
  XImage *img = XGetImage(d, w, 0, 0, (unsigned)width, (unsigned)height, AllPlanes, ZPixmap);
  if (!img) return 0;
  int result = 0;
  unsigned long first = XGetPixel(img, 0, 0);
  if (img->bits_per_pixel == 32) {
    for (int y = 0; y < height && !result; y++) {
      const unsigned int *row = (const unsigned int *)(img->data + (long)y * img->bytes_per_line);
      for (int x = 0; x < width; x++)
        if ((row[x] & 0xffffff) != (first & 0xffffff)) {
          result = 1;
          break;
        }
    }
  } else {
    for (int y = 0; y < height && !result; y++)
      for (int x = 0; x < width; x++)
        if (XGetPixel(img, x, y) != first) {
          result = 1;
          break;
        }
  }
  if (result) {
    *when = now_ms();
    if (frame_path) save_ppm(img, width, height);
  }
  XDestroyImage(img);
  return result;
}

int main(int argc, char **argv) {
  double timeout_s = 30;
  int arg = 1;
  while (arg + 1 < argc && argv[arg][0] == '-') {
    if (strcmp(argv[arg], "-t") == 0)
      timeout_s = atof(argv[arg + 1]);
    else if (strcmp(argv[arg], "-o") == 0)
      frame_path = argv[arg + 1];
    else
      break;
    arg += 2;
  }
  if (arg >= argc) {
    fprintf(stderr, "usage: firstpaint [-t TIMEOUT_S] [-o FRAME.ppm] CMD [ARGS...]\n");
    return 2;
  }
  Display *d = XOpenDisplay(NULL);
  if (!d) {
    fprintf(stderr, "firstpaint: cannot open display %s\n", getenv("DISPLAY") ? getenv("DISPLAY") : "(unset)");
    return 2;
  }
  XSetErrorHandler(ignore_errors);
  Atom net_wm_pid = XInternAtom(d, "_NET_WM_PID", False);
  Window root = DefaultRootWindow(d);

  double t0 = now_ms();
  pid_t pid = fork();
  if (pid < 0) {
    perror("firstpaint: fork");
    return 2;
  }
  if (pid == 0) {
    setpgid(0, 0);
    dup2(2, 1); /* the program's output goes to stderr: stdout carries only the result */
    execvp(argv[arg], argv + arg);
    perror("firstpaint: exec");
    _exit(127);
  }
  setpgid(pid, pid);

  double mapped = -1;
  struct timespec pause = {0, 4 * 1000 * 1000};
  while (now_ms() - t0 < timeout_s * 1e3) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      fprintf(stderr, "firstpaint: %s exited (status %d) before painting\n", argv[arg], status);
      return 1;
    }
    Window r, parent, *children = NULL;
    unsigned int n = 0;
    if (XQueryTree(d, root, &r, &parent, &children, &n)) {
      for (unsigned int i = 0; i < n; i++) {
        XWindowAttributes a;
        if (!XGetWindowAttributes(d, children[i], &a)) continue;
        if (a.map_state != IsViewable || a.width < 200 || a.height < 200) continue;
        long owner = window_pid(d, children[i], net_wm_pid);
        if (owner != -1 && owner != pid) continue;
        if (mapped < 0) mapped = now_ms() - t0;
        double when;
        if (painted(d, children[i], a.width, a.height, &when)) {
          printf("first_paint_ms=%.1f mapped_ms=%.1f pid=%d window=0x%lx\n", when - t0, mapped, (int)pid,
                 children[i]);
          fflush(stdout);
          XFree(children);
          XCloseDisplay(d);
          return 0;
        }
      }
      if (children) XFree(children);
    }
    nanosleep(&pause, NULL);
  }
  fprintf(stderr, "firstpaint: no painted window from %s within %.0f s (mapped: %s)\n", argv[arg], timeout_s,
          mapped < 0 ? "never" : "yes");
  kill(-pid, SIGKILL);
  return 1;
}
