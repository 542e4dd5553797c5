package main

import (
	"fmt"
	"os"
	"strings"
	"sync"

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
