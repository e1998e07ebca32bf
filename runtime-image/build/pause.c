/*
 * Lamina's pod sandbox ("pause") process: holds a pod's namespaces open, reaps zombies
 * when it is PID 1 of a shared PID namespace, and exits cleanly on SIGINT/SIGTERM.
 * Same behaviour as Kubernetes' pause container; written here because no registry is
 * reachable to pull one. Built statically by build-offline.sh into an image with this
 * single file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "lamina-pause-3.10"

static void on_terminate(int signo) {
  fprintf(stderr, "pause: shutting down, got signal %d\n", signo);
  exit(0);
}

static void on_child(int signo) {
  (void)signo;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    printf("%s\n", VERSION);
    return 0;
  }
  if (getpid() != 1) fprintf(stderr, "pause: warning: not running as PID 1\n");

  struct sigaction term = {0};
  term.sa_handler = on_terminate;
  if (sigaction(SIGINT, &term, NULL) < 0 || sigaction(SIGTERM, &term, NULL) < 0) return 1;

  struct sigaction child = {0};
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP;
  if (sigaction(SIGCHLD, &child, NULL) < 0) return 2;

  for (;;) pause();
  return 42; /* not reached */
}
