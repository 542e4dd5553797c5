package bridge_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/client"
)

// These tests put the SQLite file on a real file system and break it the way
// production disks break: full (a small tmpfs), then read-only (ext4 on a
// loop device, remounted read-only by the kernel after an error). They
// need root for mount and are skipped without it.

// mountTmpfs mounts a tmpfs of size bytes on a new directory and unmounts
// it when the test ends (after the bridge registered later has stopped).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes path until the file system has no space left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{64 << 10, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill the disk: %v", err)
				}
				break
			}
		}
	}
}

// TestStoreDiskFullAnswers503AndRecoversWithoutRestart fills the disk under
// the SQLite file. Webhooks are answered 503 (Alertmanager retries them),
// /-/ready is 503 naming the store, the failures are counted, and what was
// acknowledged before is intact. Once space is freed the same process
// accepts again and is ready, and every notification ends as one ticket.
func TestStoreDiskFullAnswers503AndRecoversWithoutRestart(t *testing.T) {
	t.Parallel()
	dir := mountTmpfs(t, 8<<20)
	e := newEnv(t, envOptions{dbPath: filepath.Join(dir, "coc-bridge.db")})
	for g := range 3 {
		e.mustAccept(firing(fmt.Sprintf("Before%d", g)))
	}
	e.waitSettled(3)

	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	rejected := firing("DuringFull")
	if code, body := e.post(rejected, nil); code != http.StatusServiceUnavailable {
		t.Fatalf("webhook with a full disk = %d %s, want 503", code, body)
	}
	code, rb := e.ready()
	if code != http.StatusServiceUnavailable || rb.Status != "not ready" ||
		!strings.HasPrefix(rb.Reason, "store: ") || !strings.Contains(rb.Reason, "full") {
		t.Errorf("/-/ready with a full disk = %d %+v, want 503 naming the store and the full disk", code, rb)
	}
	if got := metricValue(t, e.reg, "coc_bridge_ready"); got != 0 {
		t.Errorf("coc_bridge_ready = %v with a full disk", got)
	}
	for _, op := range []string{"accept", "ping"} {
		if got := counterValue(t, e.reg, "coc_bridge_store_errors_total", "operation", op); got < 1 {
			t.Errorf("coc_bridge_store_errors_total{operation=%q} = %v, want at least 1", op, got)
		}
	}
	if got := counterValue(t, e.reg, "coc_bridge_notifications_total", "result", "store_unavailable"); got < 1 {
		t.Errorf("store_unavailable rejections = %v", got)
	}
	if open := e.ledger("open"); len(open) != 3 {
		t.Errorf("%d open tickets readable with a full disk, want the 3 acknowledged", len(open))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, rb := e.ready(); code != http.StatusOK || rb.Status != "ready" {
		t.Fatalf("/-/ready after freeing space = %d %+v, want 200 without a restart", code, rb)
	}
	// Alertmanager's retry of the rejected notification.
	e.mustAccept(rejected)
	e.waitSettled(4)
	e.assertOneTicketPerKey(4)
	waitFor(t, 10*time.Second, "coc_bridge_ready back to 1", func() bool {
		return metricValue(t, e.reg, "coc_bridge_ready") == 1
	})
}

// TestStoreReadOnlyAnswers503AndRecoversWithoutRestart turns the file
// system under the SQLite file read-only the way the kernel does after an
// I/O error (ext4 errors=remount-ro). Webhooks get 503 and /-/ready names
// the store; notifications acknowledged before are kept. The kernel refuses
// to make such a file system writable again while it is mounted, and to
// unmount it while a file on it is open, so the store lets go of its files
// between calls: with the bridge still running, the volume is unmounted,
// checked and mounted again, and the same process then accepts and
// delivers everything.
func TestStoreReadOnlyAnswers503AndRecoversWithoutRestart(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount an ext4 image")
	}
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		t.Skip("mkfs.ext4 not installed")
	}
	fsck, err := exec.LookPath("e2fsck")
	if err != nil {
		t.Skip("e2fsck not installed")
	}
	tmp := t.TempDir()
	img, dir := filepath.Join(tmp, "disk.img"), filepath.Join(tmp, "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs, "-q", "-F", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	mount := func() error {
		if out, err := exec.Command("mount", "-o", "loop,errors=remount-ro", img, dir).CombinedOutput(); err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	unmount := func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	}
	if err := mount(); err != nil {
		t.Skipf("cannot mount a loop device here: %v", err)
	}
	mounted := true
	t.Cleanup(func() {
		if mounted {
			unmount()
		}
	})
	trigger := "/sys/fs/ext4/" + filepath.Base(loopDevice(t, dir)) + "/trigger_fs_error"
	if _, err := os.Stat(trigger); err != nil {
		t.Skipf("this kernel cannot inject an ext4 error: %v", err)
	}

	e := newEnv(t, envOptions{dbPath: filepath.Join(dir, "coc-bridge.db"), lease: time.Second,
		clientOpts: func(o *client.Options) { o.Retry.MaxAttempts = 1 }})
	// COC is down: the acknowledged notifications wait in the outbox.
	e.fake.SetDown(true)
	for g := range 2 {
		e.mustAccept(firing(fmt.Sprintf("Kept%d", g)))
	}
	if err := os.WriteFile(trigger, []byte("read-only test\n"), 0o200); err != nil {
		t.Fatalf("inject the ext4 error: %v", err)
	}
	rejected := firing("DuringReadOnly")
	if code, body := e.post(rejected, nil); code != http.StatusServiceUnavailable {
		t.Fatalf("webhook on a read-only file system = %d %s, want 503", code, body)
	}
	if code, rb := e.ready(); code != http.StatusServiceUnavailable || !strings.HasPrefix(rb.Reason, "store: ") {
		t.Errorf("/-/ready on a read-only file system = %d %+v, want 503 naming the store", code, rb)
	}
	if got := counterValue(t, e.reg, "coc_bridge_store_errors_total", "operation", "accept"); got < 1 {
		t.Errorf("coc_bridge_store_errors_total{operation=accept} = %v", got)
	}
	if items := e.outbox(); len(items) != 2 {
		t.Errorf("%d outbox items readable, want the 2 acknowledged", len(items))
	}

	// The operator's fix, with the bridge running: unmount the volume
	// (possible only because the store holds no file open between calls;
	// the workers keep polling it, so an unmount may meet one call and is
	// tried again), check it, mount it again.
	waitFor(t, 20*time.Second, "the volume to unmount while the bridge runs", func() bool {
		return exec.Command("umount", dir).Run() == nil
	})
	mounted = false
	// e2fsck exits 1 when it corrected errors: the error the test injected.
	if out, err := exec.Command(fsck, "-fy", img).CombinedOutput(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() > 1 {
			t.Fatalf("e2fsck: %v: %s", err, out)
		}
	}
	if err := mount(); err != nil {
		t.Fatalf("mount again: %v", err)
	}
	mounted = true
	waitFor(t, 10*time.Second, "/-/ready to answer 200 again without a restart", func() bool {
		code, _ := e.ready()
		return code == http.StatusOK
	})
	e.fake.SetDown(false)
	e.mustAccept(rejected)
	e.waitSettled(3)
	e.assertOneTicketPerKey(3)
}

// loopDevice returns the device mounted on dir.
func loopDevice(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skipf("read mountinfo: %v", err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) > 4 && f[4] == dir && len(g) > 1 {
			return g[1]
		}
	}
	t.Skipf("no mount on %s in mountinfo", dir)
	return ""
}
