package client

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// maxSecretFile bounds what is read from a secret file.
const maxSecretFile = 64 << 10

// FileSecret is a value kept in a file, such as a mounted Kubernetes
// secret, and re-read when the file changes: each Refresh stats the file
// and reads it again when its size, modification time or identity (inode,
// as after an atomic rename or a symlink swap) changed, so a rotated value
// is used without a restart. A file that becomes unreadable or empty keeps
// the last good value: a secret never silently becomes "". Surrounding
// white space (a trailing newline) is trimmed. It is the one
// implementation of re-read secret files: the COC credentials
// (FileCredentials) and the daemon's webhook token use it. FileSecret is
// safe for concurrent use.
type FileSecret struct {
	path string

	mu    sync.Mutex
	value string
	seen  os.FileInfo // stat of the file as last read, or of the last failed read
}

// NewFileSecret reads the file at path once; it fails when the file
// cannot be read, is empty or is larger than 64 KiB.
func NewFileSecret(path string) (*FileSecret, error) {
	s := &FileSecret{path: path}
	st, err := os.Stat(path)
	if err == nil {
		err = s.read(st)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Path is the file's path.
func (s *FileSecret) Path() string { return s.path }

// Value returns the current value, re-reading the file when it changed.
func (s *FileSecret) Value() string {
	v, _, _ := s.Refresh()
	return v
}

// Refresh re-reads the file when it changed and returns the current value.
// reloaded is true when a new read succeeded; err says why a changed file
// was not taken (the last good value is returned). A file that went
// missing is reported once, not on every call while it stays missing.
func (s *FileSecret) Refresh() (value string, reloaded bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := os.Stat(s.path)
	switch {
	case err == nil && s.seen != nil && os.SameFile(st, s.seen) &&
		st.ModTime().Equal(s.seen.ModTime()) && st.Size() == s.seen.Size():
		return s.value, false, nil
	case err == nil:
		err = s.read(st)
	case s.seen == nil:
		return s.value, false, nil // still missing: reported when it went missing
	default:
		s.seen = nil
	}
	if err != nil {
		return s.value, false, err
	}
	return s.value, true, nil
}

// read loads the file, whose stat is st. On failure s keeps its value;
// s.seen records st so the same broken file is not read again.
func (s *FileSecret) read(st os.FileInfo) error {
	s.seen = st
	if st.Size() > maxSecretFile {
		return fmt.Errorf("read %s: larger than %d bytes", s.path, maxSecretFile)
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("read secret file: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return fmt.Errorf("read %s: the file is empty", s.path)
	}
	s.value = v
	return nil
}
