package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func sendTestCommand() command {
	return command{
		name:    "send-test-alert",
		args:    "[--url URL] [--ca-file FILE] [--bearer-token T | --basic-user U --basic-password P] [--resolved] [--group NAME]",
		summary: "post a realistic sample notification to a running bridge",
		about: `Post a sample Alertmanager notification (version 4: two HighErrorRate alerts of one
group, regions cn-north-4 and cn-south-1, severities critical and major) to a bridge's
webhook, print the answer, and exit 1 unless it is 2xx. --group changes the group (each
name is its own ticket); --resolved sends the group resolved; --payload sends your own body.
Without --url it posts to the bridge on this host at COC_BRIDGE_LISTEN_ADDRESS (default :9096).`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet, args []string) error {
			target := fs.String("url", "", "webhook URL, or the bridge's base URL (default: http://localhost at COC_BRIDGE_LISTEN_ADDRESS's port)")
			caFile := fs.String("ca-file", "", "PEM `FILE` of the CA that signed the bridge's TLS certificate (for an https URL)")
			token := fs.String("bearer-token", "", "send Authorization: Bearer `TOKEN`")
			tokenFile := fs.String("bearer-token-file", "", "read the bearer token from `FILE`")
			user := fs.String("basic-user", "", "HTTP basic auth user")
			password := fs.String("basic-password", "", "HTTP basic auth password")
			resolved := fs.Bool("resolved", false, "send the group with every alert resolved")
			group := fs.String("group", "api-gateway", "value of the sample's service group label (one ticket per value)")
			payload := fs.String("payload", "", "send this webhook body instead of the sample (a file, or - for stdin)")
			timeout := fs.Duration("timeout", 10*time.Second, "request timeout")
			if err := a.parse(fs, args); err != nil {
				return err
			}
			body := sampleNotification(sampleOptions{Group: *group, Resolved: *resolved})
			if *payload != "" {
				var err error
				if body, err = readPayload(*payload, a.stdin); err != nil {
					return err
				}
			}
			if *tokenFile != "" {
				t, err := readSecretFile("--bearer-token-file", *tokenFile)
				if err != nil {
					return usageError{err}
				}
				*token = t
			}
			if *target == "" {
				*target = localURL(a.env)
			}
			u, err := webhookURL(*target)
			if err != nil {
				return usageError{err}
			}
			httpClient, err := clientWithCA(*caFile)
			if err != nil {
				return usageError{err}
			}
			ctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			status, answer, err := postWebhook(ctx, httpClient, u, body, webhookCredentials{bearer: *token, user: *user, password: *password})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "POST %s: %d %s\n%s", u, status, http.StatusText(status), answer)
			if status < 200 || status > 299 {
				return fmt.Errorf("the bridge answered %d %s", status, http.StatusText(status))
			}
			return nil
		},
	}
}

// localURL is the webhook of a bridge on this host listening on
// COC_BRIDGE_LISTEN_ADDRESS (its port; the host is localhost unless the
// address names one).
func localURL(env environ) string {
	addr, ok := env.Lookup("COC_BRIDGE_LISTEN_ADDRESS")
	if !ok || addr == "" {
		addr = ":9096"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost:9096/api/v1/alerts"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/api/v1/alerts"
}

// clientWithCA returns an HTTP client trusting the CA in caFile, or the
// system's roots when caFile is "".
func clientWithCA(caFile string) (*http.Client, error) {
	if caFile == "" {
		return &http.Client{}, nil
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", caFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

// webhookURL accepts the webhook URL or the bridge's base URL.
func webhookURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--url %q: want an http(s) URL such as http://localhost:9096/api/v1/alerts", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/api/v1/alerts"
	}
	return u.String(), nil
}

type webhookCredentials struct{ bearer, user, password string }

// postWebhook posts body as Alertmanager does and returns the answer.
func postWebhook(ctx context.Context, hc *http.Client, url string, body []byte, cred webhookCredentials) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "coc-bridge-send-test-alert/"+appVersion())
	switch {
	case cred.bearer != "":
		req.Header.Set("Authorization", "Bearer "+cred.bearer)
	case cred.user != "":
		req.SetBasicAuth(cred.user, cred.password)
	}
	resp, err := hc.Do(req) // ctx bounds it
	if err != nil {
		return 0, "", fmt.Errorf("post notification: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("read answer: %w", err)
	}
	answer := string(b)
	if !strings.HasSuffix(answer, "\n") {
		answer += "\n"
	}
	return resp.StatusCode, answer, nil
}
