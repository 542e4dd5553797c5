package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client"
)

// webhookAuth builds the webhook's authentication from the config. Secrets
// given as files are re-read when the file changes, so a rotated Kubernetes
// secret takes effect without a restart.
func webhookAuth(cfg *config) (bridge.WebhookAuth, error) {
	bearer, err := secretFunc("COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE", cfg.WebhookBearerToken, cfg.WebhookBearerTokenFile)
	if err != nil {
		return bridge.WebhookAuth{}, err
	}
	password, err := secretFunc("COC_BRIDGE_WEBHOOK_BASIC_PASSWORD_FILE", cfg.WebhookBasicPassword, cfg.WebhookBasicPasswordFile)
	if err != nil {
		return bridge.WebhookAuth{}, err
	}
	return bridge.WebhookAuth{BearerToken: bearer, BasicUser: cfg.WebhookBasicUser, BasicPassword: password}, nil
}

// secretFunc returns a function giving the current secret: the file's
// content when path is set, else value; nil when neither is set (that
// method is disabled).
func secretFunc(name string, value client.Secret, path string) (func() string, error) {
	switch {
	case path != "":
		f := &fileSecret{name: name, path: path}
		if err := f.load(); err != nil {
			return nil, err
		}
		return f.get, nil
	case value != "":
		v := string(value)
		return func() string { return v }, nil
	}
	return nil, nil
}

// fileSecret is a secret read from a file and re-read when the file's
// modification time or size changes. A file that becomes unreadable or empty
// keeps the last good value: a secret never silently becomes "" (which would
// switch authentication off).
type fileSecret struct {
	name, path string

	mu    sync.Mutex
	value string
	seen  os.FileInfo // the file as last read
}

func (f *fileSecret) load() error {
	st, err := os.Stat(f.path)
	if err != nil {
		return fmt.Errorf("%s: %w", f.name, err)
	}
	v, err := readSecretFile(f.name, f.path)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.value, f.seen = v, st
	return nil
}

// get returns the current value: one stat per call, a read only when the
// file's identity (inode, as after a symlink swap), size or modification
// time changed.
func (f *fileSecret) get() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.path)
	if err != nil || (os.SameFile(st, f.seen) && st.ModTime().Equal(f.seen.ModTime()) && st.Size() == f.seen.Size()) {
		return f.value
	}
	b, err := os.ReadFile(f.path)
	if v := strings.TrimSpace(string(b)); err == nil && v != "" {
		f.value, f.seen = v, st
	}
	return f.value
}

// secretFiles returns the _FILE variables that hold a secret and are set,
// by name. The access key is an identifier, not a secret: its file is not
// checked.
func (c *config) secretFiles() [][2]string {
	var out [][2]string
	for _, f := range [][2]string{
		{"COC_BRIDGE_COC_SECRET_KEY_FILE", c.COCSecretKeyFile},
		{"COC_BRIDGE_COC_SECURITY_TOKEN_FILE", c.COCSecurityTokenFile},
		{"COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE", c.WebhookBearerTokenFile},
		{"COC_BRIDGE_WEBHOOK_BASIC_PASSWORD_FILE", c.WebhookBasicPasswordFile},
		{"COC_BRIDGE_STORE_FILE", c.StoreFile},
	} {
		if f[1] != "" {
			out = append(out, f)
		}
	}
	return out
}

// looseMode reports whether a secret file with this mode, owned by uid,
// can be read or changed by others than its owner. The rule is
// PostgreSQL's for its key files: at most 0600, or 0640 when root owns the
// file. The exception is what a Kubernetes secret volume with an fsGroup
// gives (root:fsGroup, group-readable whatever defaultMode says), where
// the group is the pod's own.
func looseMode(mode fs.FileMode, uid int) bool {
	perm := mode.Perm()
	if uid == 0 {
		return perm&0o037 != 0
	}
	return perm&0o077 != 0
}

// warnLooseSecretFiles logs, once, a warning for each secret file that
// others than its owner may read or change (see looseMode). Symbolic links
// are followed: a Kubernetes secret volume's files are links to files in a
// timestamped directory, and the mode that counts is the target's. It
// never refuses to start, and never logs a file's content.
func warnLooseSecretFiles(log *zap.Logger, cfg *config) {
	for _, f := range cfg.secretFiles() {
		name, path := f[0], f[1]
		st, err := os.Stat(path)
		if err != nil {
			continue // already reported when the file was read
		}
		uid := fileOwner(st)
		if uid < 0 || !looseMode(st.Mode(), uid) {
			continue // no Unix permissions (Windows), or tight ones
		}
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			target = path
		}
		log.Warn("secret file is readable or writable by others than its owner; "+
			"restrict it (chmod 600, or in Kubernetes a secret volume with defaultMode 0440 and a pod fsGroup)",
			zap.String("variable", name), zap.String("path", path), zap.String("target", target),
			zap.String("mode", fmt.Sprintf("%#o", st.Mode().Perm())), zap.Int("owner_uid", uid))
	}
}
