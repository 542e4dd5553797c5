package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

func sendTestCommand() command {
	return command{
		name:    "send-test-alert",
		args:    "[--url URL] [--bearer-token T | --basic-user U --basic-password P] [--resolved] [--group NAME]",
		summary: "post a realistic sample notification to a running bridge",
		about: `Post a sample Alertmanager notification (version 4: two HighErrorRate alerts of one
group, regions cn-north-4 and cn-south-1, severities critical and major) to a bridge's
webhook, print the answer, and exit 1 unless it is 2xx. --group changes the group (each
name is its own ticket); --resolved sends the group resolved; --payload sends your own body.`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet, args []string) error {
			target := fs.String("url", "http://localhost:9096/api/v1/alerts", "webhook URL, or the bridge's base URL")
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
			u, err := webhookURL(*target)
			if err != nil {
				return usageError{err}
			}
			ctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			status, answer, err := postWebhook(ctx, u, body, webhookCredentials{bearer: *token, user: *user, password: *password})
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
func postWebhook(ctx context.Context, url string, body []byte, cred webhookCredentials) (int, string, error) {
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
	resp, err := (&http.Client{}).Do(req) // ctx bounds it
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
