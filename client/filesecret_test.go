package client_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coc-bridge/coc-bridge/client"
)

func TestFileSecretFollowsRotation(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "token")
	write := func(v string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("first\n")
	f, err := client.NewFileSecret(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Value(); got != "first" {
		t.Fatalf("Value = %q", got)
	}
	// A longer value changes the size even where mtime granularity is coarse.
	write("second-value\n")
	if v, reloaded, err := f.Refresh(); v != "second-value" || !reloaded || err != nil {
		t.Fatalf("after rotation Refresh = %q, %v, %v", v, reloaded, err)
	}
	if v, reloaded, err := f.Refresh(); v != "second-value" || reloaded || err != nil {
		t.Fatalf("unchanged file Refresh = %q, %v, %v", v, reloaded, err)
	}
	write("\n")
	if v, _, err := f.Refresh(); v != "second-value" || err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("an emptied file must keep the last good value and say why, got %q, %v", v, err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if got := f.Value(); got != "second-value" {
		t.Fatalf("a removed file must keep the last good value, got %q", got)
	}
	write("third\n")
	if got := f.Value(); got != "third" {
		t.Fatalf("a file put back is read again, got %q", got)
	}
}

func TestFileSecretRefusesBadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, []byte(strings.Repeat("x", 65<<10)), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{empty: "empty", big: "larger than", filepath.Join(dir, "missing"): "no such file"} {
		if _, err := client.NewFileSecret(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewFileSecret(%s) = %v, want an error saying %q", filepath.Base(path), err, want)
		}
	}
}
