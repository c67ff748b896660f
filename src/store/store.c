/*
 * store.c - backend-neutral parts of the storage interface: the store URL
 * (which backend), the node id, issue status names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/hash.h"
#include "store/store.h"
#include "core/banned.h"

#define STORE_ACCEPTED "a directory, sqlite:PATH or sqlite://PATH"
#define SCHEME_MAX 32
#define NODE_FILE "node_id"
#define NODE_PATH_MAX 4096

static const char *const status_names[] = { "unresolved", "resolved", "ignored",
                                            "resolved_in_next_release" };

const char *store_issue_status_name(int status)
{
    if (status == STORE_ISSUE_ANY)
        return "all";
    if (status < 0 || (size_t)status >= sizeof(status_names) / sizeof(status_names[0]))
        return "unknown";
    return status_names[status];
}

int store_issue_status_parse(const char *s, int *status)
{
    size_t i;

    if (s == NULL)
        return BL_EINVAL;
    for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *status = (int)i;
            return 0;
        }
    }
    if (strcmp(s, "all") == 0) {
        *status = STORE_ISSUE_ANY;
        return 0;
    }
    return BL_EINVAL;
}

/* Length of the URL's scheme ("sqlite" in "sqlite:x"): RFC 3986 letters, 0 when none. */
static size_t scheme_len(const char *url)
{
    size_t n;

    if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
        return 0;
    for (n = 1; n <= SCHEME_MAX; n++) {
        char c = url[n];

        if (c == ':')
            return n;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return 0;
    }
    return 0;
}

static int scheme_is(const char *url, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(url, name, n) == 0;
}

int store_open(struct store **out, const char *url, const char *node_id, struct bl_err *err)
{
    size_t n;
    const char *path;

    if (url == NULL || url[0] == '\0')
        return bl_err_set(err, BL_EINVAL, "no store URL (accepted: %s)", STORE_ACCEPTED);
    n = scheme_len(url);
    if (n == 0)
        return store_open_sqlite(out, url, node_id, err);
    if (scheme_is(url, n, "sqlite")) {
        path = url + n + 1;
        if (strncmp(path, "//", 2) == 0)
            path += 2;
        if (path[0] == '\0')
            return bl_err_set(err, BL_EINVAL, "store URL '%.*s:' names no directory", (int)n, url);
        return store_open_sqlite(out, path, node_id, err);
    }
    /* Only the scheme is quoted: the rest of a PostgreSQL URL may hold a password. */
    if (scheme_is(url, n, "postgres") || scheme_is(url, n, "postgresql"))
        return bl_err_set(err, BL_EUNSUPPORTED,
                          "store URL '%.*s://...': this build has no "
                          "PostgreSQL backend yet (accepted: %s)",
                          (int)n, url, STORE_ACCEPTED);
    if (strncmp(url + n + 1, "//", 2) == 0)
        return bl_err_set(err, BL_EINVAL, "store URL scheme '%.*s' is unknown (accepted: %s)",
                          (int)n, url, STORE_ACCEPTED);
    /* "name:with-colon" without "//" is a directory, as it always was. */
    return store_open_sqlite(out, url, node_id, err);
}

int store_node_id_check(const char *s)
{
    size_t n;

    if (s == NULL)
        return BL_EINVAL;
    for (n = 0; s[n] != '\0'; n++) {
        char c = s[n];

        if (n + 1 >= STORE_NODE_ID_MAX)
            return BL_EINVAL;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return BL_EINVAL;
    }
    return n > 0 ? 0 : BL_EINVAL;
}

/* Reads the node file; BL_ENOTFOUND when there is none yet. */
static int node_read(const char *path, char *out, struct bl_err *err)
{
    char buf[STORE_NODE_ID_MAX + 2];
    ssize_t got;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT)
        return BL_ENOTFOUND;
    if (fd < 0)
        return bl_err_set(err, BL_EIO, "cannot read '%s': %s", path, strerror(errno));
    got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (got < 0)
        return bl_err_set(err, BL_EIO, "cannot read '%s': %s", path, strerror(errno));
    buf[got] = '\0';
    if (got > 0 && buf[got - 1] == '\n')
        buf[got - 1] = '\0';
    if (store_node_id_check(buf) != 0)
        return bl_err_set(err, BL_EINVAL, "'%s' does not hold a node id", path);
    memcpy(out, buf, strlen(buf) + 1);
    return 0;
}

static int sync_dir(const char *dir, struct bl_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0 || fsync(fd) != 0)
        rc = bl_err_set(err, BL_EIO, "cannot sync '%s': %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/*
 * Writes a new id to a private temporary file and links it into place, so
 * the file is never seen half written and, when two processes race, the
 * first link wins and the other reads the winner's id.
 */
static int node_create(const char *dir, const char *path, struct bl_err *err)
{
    char tmp[NODE_PATH_MAX], id[33], line[35];
    int fd, rc = 0;
    size_t len;

    rand_hex(id, 16);
    len = (size_t)snprintf(line, sizeof(line), "%s\n", id);
    snprintf(tmp, sizeof(tmp), "%s/%s.%ld.tmp", dir, NODE_FILE, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return bl_err_set(err, BL_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    if (write(fd, line, len) != (ssize_t)len || fsync(fd) != 0)
        rc = bl_err_set(err, BL_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    close(fd);
    if (rc == 0 && link(tmp, path) != 0 && errno != EEXIST)
        rc = bl_err_set(err, BL_EIO, "cannot create '%s': %s", path, strerror(errno));
    unlink(tmp);
    return rc == 0 ? sync_dir(dir, err) : rc;
}

int store_node_id(const char *data_dir, char *out, struct bl_err *err)
{
    char path[NODE_PATH_MAX];
    int rc;

    if (data_dir == NULL || strlen(data_dir) + sizeof(NODE_FILE) + 32 > sizeof(path))
        return bl_err_set(err, BL_EINVAL, "bad data directory");
    snprintf(path, sizeof(path), "%s/%s", data_dir, NODE_FILE);
    rc = node_read(path, out, err);
    if (rc != BL_ENOTFOUND)
        return rc;
    rc = node_create(data_dir, path, err);
    if (rc == 0)
        rc = node_read(path, out, err);
    if (rc == BL_ENOTFOUND)
        rc = bl_err_set(err, BL_EIO, "'%s' vanished as it was created", path);
    return rc;
}
