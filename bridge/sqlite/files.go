package sqlite

import (
	"database/sql"
	"errors"
	"sync"

	"go.uber.org/zap"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// files lets go of the database's files while the file system under them
// fails, so the volume can be repaired while the process runs.
//
// When the kernel turns a file system read-only after an I/O error (ext4
// errors=remount-ro), it cannot be made writable again while it is mounted,
// and it cannot be unmounted while a file on it is open. So on a write that
// fails for the file system's sake (read-only, I/O error, cannot open), both
// connection pools keep no idle connection: between calls no file is open,
// an operator can unmount, check and mount the volume again, and the next
// call opens the database on the repaired file system. The first write that
// commits again restores the idle connections. Connections are opened with
// mode=rw, so a call made while nothing is mounted fails instead of
// creating an empty database in the mount point.
type files struct {
	log       *zap.Logger
	path      string
	wdb, rdb  *sql.DB
	readConns int
	mu        sync.Mutex
	letGo     bool
}

// failed is called with a write's error; a file system failure makes the
// pools let go of their connections.
func (f *files) failed(err error) {
	if !fileSystemFault(err) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.letGo {
		return
	}
	f.letGo = true
	f.wdb.SetMaxIdleConns(0)
	f.rdb.SetMaxIdleConns(0)
	f.log.Error("the file system under the database fails; its files are closed between calls "+
		"so the volume can be repaired and mounted again, and reopened by the next call",
		zap.String("path", f.path), zap.Error(err))
}

// wrote is called after a write committed.
func (f *files) wrote() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.letGo {
		return
	}
	f.letGo = false
	f.wdb.SetMaxIdleConns(1)
	f.rdb.SetMaxIdleConns(f.readConns)
	f.log.Info("the database is writable again", zap.String("path", f.path))
}

// fileSystemFault reports an error SQLite gives when the file system under
// the database fails rather than the statement.
func fileSystemFault(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return false
}
