/*
 * lamina-launch: the entry point of an image function's container, in front of the image's own
 * (its ENTRYPOINT and CMD are this program's arguments). It lets the agent, a sidecar in the
 * same pod, run the image's entry point the way it runs a zip function's runtime process:
 *
 *   - it connects to the agent's control socket and waits there for "start";
 *   - for each start it opens a connection to the agent's output socket, forks, and runs its
 *     arguments in a new session with stdout and stderr on that connection (the agent frames
 *     the output with START / END / REPORT and captures the invocation's tail); stdin is
 *     /dev/null;
 *   - it reports "pid <n>" (or "error <errno> <path>" when the program cannot be run) and, once the
 *     program is gone, "exit <status>" or "signal <number>";
 *   - when the agent goes (the control connection closes, even while the program runs) it kills
 *     what it started and exits, so the kubelet reports the container ended.
 *
 * So a runtime that exits is reported with its exit status, and is started again in place by
 * the next Init, as Lambda does, without the container ending. The image is not changed: the
 * agent copies this static binary into an emptyDir shared by both containers.
 *
 * Built statically (no libc needed in the image: a FROM scratch image runs it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t terminating = 0;
static volatile pid_t running = 0;

static void on_child(int signo) {
  (void)signo; /* only wakes poll() below */
}

static void on_terminate(int signo) {
  terminating = signo;
  if (running > 0) kill(-running, SIGTERM);
}

static int connect_to(const char *path) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path) return -1;
  strcpy(addr.sun_path, path);
  /* The agent listens before this container starts (its postStart hook waits): a few tries
     cover a socket file that is being replaced. */
  for (int attempt = 0; attempt < 100; attempt++) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) return fd;
    close(fd);
    usleep(50 * 1000);
  }
  return -1;
}

static void say(int fd, const char *fmt, long value) {
  char line[64];
  int n = snprintf(line, sizeof line, fmt, value);
  if (n > 0) (void)!write(fd, line, (size_t)n);
}

/* Reads one line ("start") from the control connection; 0 when it closed. */
static int next_command(int control) {
  char c;
  for (;;) {
    ssize_t n = read(control, &c, 1);
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR && !terminating) continue;
      return 0;
    }
    if (c == '\n') return 1;
  }
}

static void run_once(int control, const char *output_path, char **argv) {
  int output = connect_to(output_path);
  if (output < 0) {
    say(control, "error %ld\n", (long)ECONNREFUSED);
    return;
  }
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    say(control, "error %ld\n", (long)errno);
    close(output);
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    dup2(output, 1);
    dup2(output, 2);
    execvp(argv[0], argv);
    int err = errno;
    (void)!write(report[1], &err, sizeof err);
    _exit(127);
  }
  close(report[1]);
  close(output);
  if (pid < 0) {
    say(control, "error %ld\n", (long)errno);
    close(report[0]);
    return;
  }
  running = pid;
  int err = 0;
  ssize_t n;
  do n = read(report[0], &err, sizeof err);
  while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == (ssize_t)sizeof err) {
    char line[1200];
    int len = snprintf(line, sizeof line, "error %d %.1024s\n", err, argv[0]);
    if (len > 0) (void)!write(control, line, (size_t)(len < (int)sizeof line ? len : (int)sizeof line - 1));
  }
  else say(control, "pid %ld\n", (long)pid);
  /* Wait for the program, watching the control connection: if the agent goes (its container
     restarted or stopped), what it started goes too, and so does this container. */
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) break;
    /* No events asked: a unix socket reports POLLHUP once its peer closed, and a "start" the
       agent sent early stays queued for the next round. */
    struct pollfd watch = {.fd = control, .events = 0};
    if (poll(&watch, 1, 250) > 0 && (watch.revents & (POLLHUP | POLLERR))) {
      kill(-pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
  }
  running = 0;
  if (n == (ssize_t)sizeof err) return;
  if (WIFSIGNALED(status)) say(control, "signal %ld\n", (long)WTERMSIG(status));
  else say(control, "exit %ld\n", (long)WEXITSTATUS(status));
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: lamina-launch <entry point> [arguments...]\n");
    return 2;
  }
  const char *dir = getenv("LAMINA_LAUNCH_DIR");
  if (!dir || !*dir) dir = "/lamina";
  char control_path[256], output_path[256];
  snprintf(control_path, sizeof control_path, "%s/control.sock", dir);
  snprintf(output_path, sizeof output_path, "%s/output.sock", dir);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_terminate;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  struct sigaction child;
  memset(&child, 0, sizeof child);
  child.sa_handler = on_child; /* no SA_RESTART: poll() returns at once when the program ends */
  sigaction(SIGCHLD, &child, NULL);
  signal(SIGPIPE, SIG_IGN);

  int control = connect_to(control_path);
  if (control < 0) {
    fprintf(stderr, "lamina-launch: cannot reach the agent at %s: %s\n", control_path, strerror(errno));
    return 1;
  }
  while (!terminating && next_command(control)) run_once(control, output_path, argv + 1);
  return 0;
}
