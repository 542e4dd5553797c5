package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// redacted is what every printed form of a Secret shows.
const redacted = "<secret>"

// Secret is a string that never prints: String, GoString, Format (every
// verb) and MarshalJSON give "<secret>". Reveal returns the value.
type Secret string

// String returns "<secret>".
func (s Secret) String() string { return redacted }

// GoString returns "<secret>".
func (s Secret) GoString() string { return redacted }

// Format writes "<secret>" whatever the verb and flags.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON encodes the secret as the JSON string "<secret>".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Reveal returns the secret value. Call it only where the value is used.
func (s Secret) Reveal() string { return string(s) }

// Credentials are an AK/SK pair, plus the security token of temporary
// credentials. Printing them never shows the secret key or the token.
type Credentials struct {
	AccessKey     string
	SecretKey     Secret
	SecurityToken Secret
}

// CredentialsProvider gives the credentials to sign the next attempt with.
// It is called once per HTTP attempt and must be safe for concurrent use.
type CredentialsProvider interface {
	Credentials(ctx context.Context) (Credentials, error)
}

// StaticCredentials are fixed credentials.
type StaticCredentials Credentials

// Credentials returns the fixed credentials.
func (s StaticCredentials) Credentials(context.Context) (Credentials, error) {
	return Credentials(s), nil
}

// FileCredentialsOptions says where each part of the credentials comes
// from: a literal value or a file, never both. Unset parts stay empty.
type FileCredentialsOptions struct {
	AccessKey         string
	AccessKeyFile     string
	SecretKey         Secret
	SecretKeyFile     string
	SecurityToken     Secret
	SecurityTokenFile string
	// Registerer receives coc_bridge_coc_credentials_reloads_total; nil
	// registers nothing.
	Registerer prometheus.Registerer
	// Logger reports reloads and read errors; nil logs nothing. Values are
	// never logged. File permissions are the application's to check (it
	// knows the variables that named the files).
	Logger *zap.Logger
}

// FileCredentials are credentials whose parts may come from files, for
// example a mounted Kubernetes secret. Each call stats the files and
// re-reads a file whose size, modification time or identity (inode, as
// after an atomic rename or a symlink swap) changed, so rotated keys are
// used without a restart. A file that cannot be read or is empty keeps the
// last good value; the failure is counted and logged once per change.
// Surrounding white space (a trailing newline) is trimmed.
// FileCredentials is safe for concurrent use.
type FileCredentials struct {
	log     *zap.Logger
	reloads *prometheus.CounterVec

	mu    sync.Mutex
	parts [3]credentialPart // access key, secret key, security token
}

// credentialPart is one literal or file-backed value.
type credentialPart struct {
	name   string
	secret bool
	value  string      // the literal value, or the file's last good one
	file   *FileSecret // nil for a literal
}

// NewFileCredentials reads every file once and fails when one cannot be read
// or is empty, or when a part is given both as a value and as a file.
func NewFileCredentials(opts FileCredentialsOptions) (*FileCredentials, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	reloads, err := newCredentialsMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	f := &FileCredentials{log: log, reloads: reloads}
	f.parts = [3]credentialPart{
		{name: "access key", value: opts.AccessKey},
		{name: "secret key", value: opts.SecretKey.Reveal(), secret: true},
		{name: "security token", value: opts.SecurityToken.Reveal(), secret: true},
	}
	var errs []error
	for i, path := range [3]string{opts.AccessKeyFile, opts.SecretKeyFile, opts.SecurityTokenFile} {
		p := &f.parts[i]
		if path == "" {
			continue
		}
		if p.value != "" {
			errs = append(errs, fmt.Errorf("%s: set either the value or the file, not both", p.name))
			continue
		}
		file, err := NewFileSecret(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
			continue
		}
		p.file, p.value = file, file.Value()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// Credentials returns the current credentials, re-reading changed files.
func (f *FileCredentials) Credentials(context.Context) (Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.parts {
		f.refresh(&f.parts[i])
	}
	return Credentials{
		AccessKey:     f.parts[0].value,
		SecretKey:     Secret(f.parts[1].value),
		SecurityToken: Secret(f.parts[2].value),
	}, nil
}

// String describes where the credentials come from, without values.
func (f *FileCredentials) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	b.WriteString("FileCredentials{")
	for i, p := range f.parts {
		if i > 0 {
			b.WriteString(", ")
		}
		switch {
		case p.file != nil:
			fmt.Fprintf(&b, "%s: file %q", p.name, p.file.Path())
		case p.value == "":
			fmt.Fprintf(&b, "%s: unset", p.name)
		case p.secret:
			fmt.Fprintf(&b, "%s: %s", p.name, redacted)
		default:
			fmt.Fprintf(&b, "%s: %q", p.name, p.value)
		}
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String, so %#v shows no value either.
func (f *FileCredentials) GoString() string { return f.String() }

// refresh re-reads p's file when it changed since it was last looked at.
// Called with f.mu held.
func (f *FileCredentials) refresh(p *credentialPart) {
	if p.file == nil {
		return
	}
	v, reloaded, err := p.file.Refresh()
	switch {
	case err != nil:
		f.reloads.WithLabelValues("error").Inc()
		f.log.Warn("credentials file not reloaded; keeping the last good value",
			zap.String("part", p.name), zap.String("path", p.file.Path()), zap.Error(err))
	case reloaded:
		f.reloads.WithLabelValues("ok").Inc()
		f.log.Info("credentials file reloaded", zap.String("part", p.name), zap.String("path", p.file.Path()))
	}
	p.value = v
}
