package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The default templates render every sample, the 1 MiB label included.
func TestCheckConfigRendersEverySample(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCmd(t, minimalEnv(), "check-config")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"two alerts (the sample above)", "one alert", "many alerts (60)", "resolved",
		"missing labels and annotations", "a label and an annotation of 1 MiB each"} {
		if !strings.Contains(stdout, "ok    "+name+"\n") {
			t.Errorf("check-config did not render %q:\n%s", name, stdout)
		}
	}
}

// A template that works for the two-alert sample only fails check-config,
// naming the sample it fails on.
func TestCheckConfigFailsATemplateOneSampleBreaks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, title, sample string
	}{
		{"second alert", `{{ (index .Alerts 1).Labels.alertname }}`, "one alert"},
		{"missing label", `{{ slice .CommonLabels.service 0 3 }}`, "missing labels and annotations"},
		{"unknown function", `{{ fail }}`, ""},
		{"resolved", `{{ (index .Alerts.Firing 0).Labels.alertname }}`, "resolved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, "mapping.yaml", "title: '"+tc.title+"'\n")
			code, stdout, stderr := runCmd(t, with(minimalEnv(), "COC_BRIDGE_MAPPING_FILE", file), "check-config")
			if tc.sample == "" {
				// An unknown function is refused when the file is loaded.
				if code != exitInvalid || !strings.Contains(stderr, "COC_BRIDGE_MAPPING_FILE") {
					t.Errorf("exit %d, stderr %s", code, stderr)
				}
				return
			}
			if code != exitInvalid || !strings.Contains(stderr, `templates fail on the sample "`+tc.sample+`"`) ||
				!strings.Contains(stdout, "FAIL  "+tc.sample+"\n") {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
		})
	}
}

// --payload renders the operator's notification too.
func TestCheckConfigPayload(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "mapping.yaml", `title: '{{ if eq .CommonLabels.service "boom" }}{{ index .Alerts 5 }}{{ end }}x'`+"\n")
	env := with(minimalEnv(), "COC_BRIDGE_MAPPING_FILE", file)
	good := writeFile(t, "good.json", string(sampleNotification(sampleOptions{Group: "fine"})))
	bad := writeFile(t, "bad.json", string(sampleNotification(sampleOptions{Group: "boom"})))
	if code, stdout, stderr := runCmd(t, env, "check-config", "--payload", good); code != exitOK || !strings.Contains(stdout, "ok    --payload\n") {
		t.Errorf("good payload: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr := runCmd(t, env, "check-config", "--payload", bad)
	if code != exitInvalid || !strings.Contains(stderr, `templates fail on the sample "--payload"`) || !strings.Contains(stdout, "FAIL  --payload\n") {
		t.Errorf("bad payload: exit %d\n%s%s", code, stdout, stderr)
	}
}

// check-config warns about a secret file others may read, as serve does,
// without showing its content.
func TestCheckConfigWarnsLooseSecretFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const content = "sk-LEAK-CANARY-9e1f"
	loose := filepath.Join(dir, "sk")
	if err := os.WriteFile(loose, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	env := minimalEnv()
	delete(env, "COC_BRIDGE_COC_SECRET_KEY")
	env["COC_BRIDGE_COC_SECRET_KEY_FILE"] = loose
	code, stdout, stderr := runCmd(t, env, "check-config")
	if code != exitOK || !strings.Contains(stdout, "warning: COC_BRIDGE_COC_SECRET_KEY_FILE=\""+loose+"\" (mode 0644): "+looseFileAdvice) ||
		!strings.Contains(stdout, "configuration OK, with warnings") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, content) {
		t.Error("check-config showed the secret file's content")
	}
}

// --probe-coc against the fake COC: good keys pass; a wrong secret key and
// an unknown access key fail, naming COC's error code; an endpoint where
// nothing listens fails too.
func TestCheckConfigProbeCOC(t *testing.T) {
	t.Parallel()
	_, cocURL := newFake(t)
	env := with(minimalEnv(), "COC_BRIDGE_COC_ENDPOINT", cocURL, "COC_BRIDGE_COC_ACCESS_KEY", testAK,
		"COC_BRIDGE_COC_SECRET_KEY", testSK, "COC_BRIDGE_COC_DOMAIN_ID", testDomain)
	code, stdout, stderr := runCmd(t, env, "check-config", "--probe-coc")
	if code != exitOK || !strings.Contains(stdout, "ok: "+cocURL+" accepted the signed request") {
		t.Fatalf("good keys: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"wrong secret key", with(env, "COC_BRIDGE_COC_SECRET_KEY", "wrong-secret"), "failed with COC error code APIG.0301"},
		{"unknown access key", with(env, "COC_BRIDGE_COC_ACCESS_KEY", "HWCUNKNOWN0000000000"), "failed with COC error code APIG.0301"},
		{"nothing listens", with(env, "COC_BRIDGE_COC_ENDPOINT", "http://127.0.0.1:1", "COC_BRIDGE_COC_TIMEOUT", "1s"), "COC probe at http://127.0.0.1:1 failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(t, tc.env, "check-config", "--probe-coc")
			if code != exitFailure || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want 1 with %q\nstdout:\n%s\nstderr:\n%s", code, tc.want, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, "wrong-secret") {
				t.Error("the probe showed the secret key")
			}
		})
	}
}
