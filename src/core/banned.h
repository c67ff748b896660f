/*
 * banned.h - functions that are easy to misuse are compile errors here.
 *
 * Included last by every .c file of the server (after system headers), so a
 * new call to one of these fails the build. Use buf_addf(), snprintf(),
 * strtol()/strtoll() with end checks, and gmtime_r() instead.
 */
#ifndef BL_BANNED_H
#define BL_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_bilor

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef gmtime
#define gmtime(x) BANNED(gmtime)
#undef localtime
#define localtime(x) BANNED(localtime)

#endif
