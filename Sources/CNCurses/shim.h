#ifndef CNCURSES_SHIM_H
#define CNCURSES_SHIM_H
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <ncurses.h>
#include <term.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

// Macros and globals that Swift cannot import (or that fail strict concurrency), as functions.
static inline WINDOW *cnc_stdscr(void) { return stdscr; }
static inline int cnc_lines(void) { return LINES; }
static inline int cnc_cols(void) { return COLS; }
static inline int cnc_colors(void) { return COLORS; }
static inline int cnc_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t cnc_a_normal(void) { return A_NORMAL; }
static inline attr_t cnc_a_bold(void) { return A_BOLD; }
static inline attr_t cnc_a_dim(void) { return A_DIM; }
static inline attr_t cnc_a_reverse(void) { return A_REVERSE; }
static inline attr_t cnc_a_underline(void) { return A_UNDERLINE; }
static inline attr_t cnc_color_pair(int n) { return COLOR_PAIR(n); }
static inline int cnc_key_resize(void) { return KEY_RESIZE; }
static inline int cnc_err(void) { return ERR; }
static inline int cnc_terminal_size(int fd, int *rows, int *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return -1;
    *rows = ws.ws_row; *cols = ws.ws_col;
    return 0;
}
// Added for the Dashboard backend (wattr_set and mvwaddnstr can be macros; KEY_* for clarity).
static inline int cnc_attr_set(WINDOW *win, attr_t attrs, int pair) {
    return wattr_set(win, attrs, (short)pair, NULL);
}
static inline int cnc_put(WINDOW *win, int y, int x, const char *utf8) {
    return mvwaddnstr(win, y, x, utf8, -1);
}
static inline int cnc_key_code_yes(void) { return KEY_CODE_YES; }
// KEY_F(n) is a macro: function key n's code.
static inline int cnc_key_f(int n) { return KEY_F(n); }
static inline int cnc_ok(void) { return OK; }

// Looks `term` up in the terminfo database without starting curses (and without ncurses printing anything or
// exiting): 1 when it can draw a full screen, 0 when there is no entry for it, -1 when no terminfo database
// was found, 2 when the entry cannot address the cursor (`dumb`, a hard-copy or generic type). Leaves no
// terminal set up, so that `initscr` starts from scratch.
static inline int cnc_probe_terminal(const char *term) {
    int error = 0;
    if (setupterm((char *)term, STDOUT_FILENO, &error) != OK) return error == -1 ? -1 : 0;
    char *cup = tigetstr("cup");
    int usable = cup != NULL && cup != (char *)-1 && tigetflag("hc") != 1 && tigetflag("gn") != 1;
    del_curterm(cur_term);
    return usable ? 1 : 2;
}

#endif
