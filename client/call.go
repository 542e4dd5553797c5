package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Content types the official SDK sends per API (API.md 2).
const (
	contentTypeJSONUTF8 = "application/json;charset=UTF-8"
	contentTypeJSON     = "application/json"
)

// maxAnswer bounds the bytes read from one answer.
const maxAnswer = 4 << 20

// call is one API call: what to send, and how to decode a success's data.
type call struct {
	op          string
	method      string
	path        string // decoded, under the base URL
	body        []byte // signed and sent as is on every attempt
	contentType string
	// decode reads the data of a success answer; its error makes the
	// attempt fail as an unreadable answer (retryable, ambiguous for a
	// create).
	decode func(data json.RawMessage) error
}

// do runs cl: attempts, each signed afresh, retried while the error is
// retryable and the policy allows. Every error returned is an *Error.
//
// One more attempt is made, at once and whatever the policy, when COC
// refuses the credentials an attempt was signed with and the credentials
// have changed since (a key file rotated while the request was on its
// way): that is a different request, and refusing it would dead-letter the
// item for a key that is already gone.
func (c *Client) do(ctx context.Context, cl call) error {
	start := time.Now()
	var last *Error
	resigned := false
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			c.metrics.retries.WithLabelValues(cl.op).Inc()
		}
		used, err := c.attempt(ctx, cl, attempt)
		if err == nil {
			return nil
		}
		last = err
		last.Attempts = attempt
		if !resigned && ctx.Err() == nil && c.signedWithOldCredentials(ctx, err, used) {
			resigned = true
			c.log.Info("COC refused the credentials the request was signed with, and they have changed since; signing again",
				zap.String("operation", cl.op), zap.Int("attempt", attempt))
			continue
		}
		if !err.repeatable() || attempt >= c.retry.MaxAttempts || ctx.Err() != nil {
			break
		}
		wait := c.retry.Delay(attempt, err.RetryAfter)
		if time.Since(start)+wait > c.retry.MaxElapsed {
			break
		}
		if serr := c.retry.SleepFunc(ctx, wait); serr != nil {
			last = &Error{Operation: cl.op, Class: ClassRetryable, Attempts: attempt,
				Err: fmt.Errorf("wait before retry: %w (last error: %s)", serr, err.Error())}
			break
		}
	}
	c.metrics.errors.WithLabelValues(cl.op, last.Class.String()).Inc()
	return last
}

// signedWithOldCredentials reports whether err refuses the credentials
// (401, APIG.0301) that the attempt used and the provider now gives others.
func (c *Client) signedWithOldCredentials(ctx context.Context, err *Error, used Credentials) bool {
	if err.Class != ClassPermanent || used.AccessKey == "" ||
		(err.StatusCode != http.StatusUnauthorized && normalizeCode(err.Code) != CodeAuthFailed) {
		return false
	}
	now, cerr := c.creds.Credentials(ctx)
	return cerr == nil && now != used
}

// attempt makes one HTTP attempt: rate limit, credentials, sign, send, read,
// interpret, and records its metrics and a debug log line. It returns the
// credentials it signed with (zero when it failed before signing).
func (c *Client) attempt(ctx context.Context, cl call, n int) (Credentials, *Error) {
	if err := c.limiter.Wait(ctx, c.priority); err != nil {
		return Credentials{}, &Error{Operation: cl.op, Class: ClassRetryable, Err: err}
	}
	creds, err := c.creds.Credentials(ctx)
	if err != nil {
		return Credentials{}, &Error{Operation: cl.op, Class: ClassRetryable, Err: fmt.Errorf("get credentials: %w", err)}
	}
	return creds, c.send(ctx, cl, n, creds)
}

// send signs cl with creds and makes the HTTP attempt.
func (c *Client) send(ctx context.Context, cl call, n int, creds Credentials) *Error {
	actx, cancel := context.WithTimeout(ctx, c.retry.AttemptTimeout)
	defer cancel()
	// wrote tells a failure before the request left (safe to repeat) from
	// one after (a create may have happened).
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	})
	req, err := c.newRequest(actx, cl, creds)
	if err != nil {
		return &Error{Operation: cl.op, Class: ClassPermanent, Err: err}
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.observe(cl.op, "error", start)
		e := &Error{Operation: cl.op, Class: ClassRetryable, Err: err}
		if cl.op == OpCreateTicket && wrote.Load() {
			e.Class = ClassAmbiguous
			e.Err = fmt.Errorf("request sent, outcome unknown: %w", err)
		}
		c.logAttempt(cl.op, n, e, start)
		return e
	}
	body, readErr := readAnswer(resp.Body)
	c.observe(cl.op, strconv.Itoa(resp.StatusCode), start)
	data, e := interpret(cl.op, resp, body, readErr, c.nowFunc())
	if e != nil {
		// COC's messages may echo the access key ("ak ... not exist"); the
		// message ends up in logs and the outbox, so credentials are cut out.
		e.Message = scrubCredentials(e.Message, creds)
	}
	if e == nil && cl.decode != nil {
		if err := cl.decode(data); err != nil {
			e = &Error{Operation: cl.op, StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id"),
				Class: ClassRetryable, Err: fmt.Errorf("decode answer data: %w", err)}
			if cl.op == OpCreateTicket {
				e.Class = ClassAmbiguous
			}
		}
	}
	if e != nil && isThrottle(e.StatusCode, e.Code) {
		c.metrics.throttled.WithLabelValues(cl.op).Inc()
	}
	if e != nil {
		c.logAttempt(cl.op, n, e, start)
		return e
	}
	c.log.Debug("coc attempt", zap.String("operation", cl.op), zap.Int("attempt", n),
		zap.Int("status", resp.StatusCode), zap.String("request_id", resp.Header.Get("X-Request-Id")),
		zap.Duration("duration", time.Since(start)))
	return nil
}

// newRequest builds and signs the request of one attempt.
func (c *Client) newRequest(ctx context.Context, cl call, creds Credentials) (*http.Request, error) {
	var body io.Reader
	if len(cl.body) > 0 {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.endpointURL(cl.path).String(), body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", cl.contentType)
	req.Header.Set("User-Agent", c.userAgent)
	if c.domainID != "" {
		req.Header.Set("X-Domain-Id", c.domainID)
	}
	if c.projectID != "" {
		req.Header.Set("X-Project-Id", c.projectID)
	}
	if err := Sign(req, cl.body, creds, c.nowFunc()); err != nil {
		return nil, err
	}
	return req, nil
}

// readAnswer reads at most maxAnswer bytes, then drains a little more (so
// the connection can be reused) and closes the body.
func readAnswer(rc io.ReadCloser) ([]byte, error) {
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
		_ = rc.Close()
	}()
	b, err := io.ReadAll(io.LimitReader(rc, maxAnswer+1))
	if err != nil {
		return b, err
	}
	if len(b) > maxAnswer {
		return b[:maxAnswer], errors.New("answer larger than 4 MiB")
	}
	return b, nil
}

func (c *Client) observe(op, status string, start time.Time) {
	c.metrics.requests.WithLabelValues(op, status).Inc()
	c.metrics.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// logAttempt logs a failed attempt at debug level; the caller decides what
// to log at higher levels.
func (c *Client) logAttempt(op string, n int, e *Error, start time.Time) {
	c.log.Debug("coc attempt failed", zap.String("operation", op), zap.Int("attempt", n),
		zap.Int("status", e.StatusCode), zap.String("code", e.Code), zap.String("request_id", e.RequestID),
		zap.String("class", e.Class.String()), zap.Duration("duration", time.Since(start)), zap.Error(e))
}

// scrubCredentials replaces every credential value in s (text COC sent
// back) with a placeholder. Values shorter than 8 bytes are left alone: they
// are not real keys, and replacing them would mangle ordinary words.
func scrubCredentials(s string, c Credentials) string {
	for _, v := range []string{c.AccessKey, c.SecretKey.Reveal(), c.SecurityToken.Reveal()} {
		if len(v) >= 8 {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	return s
}
