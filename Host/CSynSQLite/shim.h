#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* SQLITE_TRANSIENT is a cast macro Swift cannot import: SQLite copies the bound bytes before returning. */
static inline sqlite3_destructor_type csyn_sqlite3_transient(void) {
    return SQLITE_TRANSIENT;
}

/* sqlite3_db_config is variadic; this calls it for the boolean (int, int*) options such as
   SQLITE_DBCONFIG_DEFENSIVE. Pass value -1 to read without changing; the resulting setting goes to *result. */
static inline int csyn_sqlite3_db_config_flag(sqlite3 *db, int op, int value, int *result) {
    return sqlite3_db_config(db, op, value, result);
}

/* sqlite3_db_config(SQLITE_DBCONFIG_LOOKASIDE, NULL, slot_size, slots): 0 slots turns the connection's lookaside
   allocator off. Only valid while the connection has no lookaside memory in use (right after opening). */
static inline int csyn_sqlite3_lookaside(sqlite3 *db, int slot_size, int slots) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_LOOKASIDE, (void *)0, slot_size, slots);
}

/* fstat(2) as the fstat system call itself: glibc's fstat() issues newfstatat, which also takes a path. The
   descriptor jail gives SQLite this one, so a sandbox can allow fstat without allowing stat of any path. */
static inline int csyn_sqlite3_raw_fstat(int fd, struct stat *st) {
    return (int)syscall(SYS_fstat, fd, st);
}
