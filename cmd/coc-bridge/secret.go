package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/bridge"
	"github.com/coc-bridge/coc-bridge/client"
)

// webhookAuth builds the webhook's authentication from the config. A token
// given as a file is re-read when the file changes, so a rotated Kubernetes
// secret takes effect without a restart.
func webhookAuth(cfg *config) (bridge.WebhookAuth, error) {
	bearer, err := secretFunc("COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE", cfg.WebhookBearerToken, cfg.WebhookBearerTokenFile)
	if err != nil {
		return bridge.WebhookAuth{}, err
	}
	return bridge.WebhookAuth{BearerToken: bearer}, nil
}

// secretFunc returns a function giving the current secret: the file's
// content when path is set (re-read when the file changes, see
// client.FileSecret), else value; nil when neither is set (that method is
// disabled).
func secretFunc(name string, value client.Secret, path string) (func() string, error) {
	switch {
	case path != "":
		f, err := client.NewFileSecret(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return f.Value, nil
	case value != "":
		v := string(value)
		return func() string { return v }, nil
	}
	return nil, nil
}

// secretFiles returns the _FILE variables that hold a secret and are set,
// as name and path: the variants of secret variables, and the store's (a
// DSN may hold a password). The access key is an identifier, not a secret:
// its file is not checked.
func (c *config) secretFiles() [][2]string {
	secret := map[string]bool{"COC_BRIDGE_STORE": true}
	index := map[string]int{}
	for _, v := range envVars() {
		secret[v.Name], index[v.Name] = secret[v.Name] || v.Secret, v.Index
	}
	rv := reflect.ValueOf(c).Elem()
	var out [][2]string
	for _, base := range fileVariants() {
		file := base + "_FILE"
		if path := rv.Field(index[file]).String(); secret[base] && path != "" {
			out = append(out, [2]string{file, path})
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

// looseFile is a secret file others than its owner may read or change.
type looseFile struct {
	variable, path, target string
	mode                   fs.FileMode
	uid                    int
}

// looseFileAdvice says what to do about a looseFile.
const looseFileAdvice = "secret file is readable or writable by others than its owner; " +
	"restrict it (chmod 600, or in Kubernetes a secret volume with defaultMode 0440 and a pod fsGroup)"

// looseSecretFiles returns each secret file that others than its owner may
// read or change (see looseMode). Symbolic links are followed: a Kubernetes
// secret volume's files are links to files in a timestamped directory, and
// the mode that counts is the target's. serve logs them and check-config
// prints them; neither refuses to start, and a file's content is never
// shown.
func looseSecretFiles(cfg *config) []looseFile {
	var out []looseFile
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
		out = append(out, looseFile{variable: name, path: path, target: target, mode: st.Mode().Perm(), uid: uid})
	}
	return out
}

// warnLooseSecretFiles logs a warning for each of looseSecretFiles.
func warnLooseSecretFiles(log *zap.Logger, cfg *config) {
	for _, f := range looseSecretFiles(cfg) {
		log.Warn(looseFileAdvice,
			zap.String("variable", f.variable), zap.String("path", f.path), zap.String("target", f.target),
			zap.String("mode", fmt.Sprintf("%#o", f.mode)), zap.Int("owner_uid", f.uid))
	}
}
