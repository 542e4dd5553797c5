package client

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serverRequest rebuilds the vector as a server receives it: Host moved
// out of the header into r.Host, signer-added headers and Authorization
// present.
func serverRequest(v vector) *http.Request {
	r := httptest.NewRequest(v.Method, v.URL, strings.NewReader(v.Body))
	for k, val := range v.header(true) {
		if k != "Host" {
			r.Header[k] = val
		}
	}
	r.Header.Set("Authorization", v.Authorization)
	return r
}

func secretOf(v vector) func(string) (string, bool) {
	return func(ak string) (string, bool) { return v.SecretKey, ak == v.AccessKey }
}

func TestVerifyAcceptsVectors(t *testing.T) {
	t.Parallel()
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			if err := Verify(serverRequest(v), []byte(v.Body), secretOf(v), v.date(t), 15*time.Minute); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyRejectsTampering(t *testing.T) {
	t.Parallel()
	v := vectorByName(t, "create_issue_ticket_json")
	now := v.date(t)
	tests := []struct {
		name   string
		mutate func(r *http.Request, body *[]byte, now *time.Time)
		want   error
	}{
		{"body changed", func(_ *http.Request, b *[]byte, _ *time.Time) { *b = append(*b, ' ') }, ErrSignatureMismatch},
		{"signed header changed", func(r *http.Request, _ *[]byte, _ *time.Time) { r.Header.Set("X-Domain-Id", "other") }, ErrSignatureMismatch},
		{"host changed", func(r *http.Request, _ *[]byte, _ *time.Time) { r.Host = "evil.example.com" }, ErrSignatureMismatch},
		{"path changed", func(r *http.Request, _ *[]byte, _ *time.Time) { r.URL.Path += "x" }, ErrSignatureMismatch},
		{"query added", func(r *http.Request, _ *[]byte, _ *time.Time) { r.URL.RawQuery = "a=b" }, ErrSignatureMismatch},
		{"method changed", func(r *http.Request, _ *[]byte, _ *time.Time) { r.Method = http.MethodPut }, ErrSignatureMismatch},
		{"date changed", func(r *http.Request, _ *[]byte, _ *time.Time) { r.Header.Set(HeaderDate, "20261123T101531Z") }, ErrSignatureMismatch},
		{"date too old", func(_ *http.Request, _ *[]byte, n *time.Time) { *n = n.Add(15*time.Minute + time.Second) }, ErrRequestTimeSkewed},
		{"date in the future", func(_ *http.Request, _ *[]byte, n *time.Time) { *n = n.Add(-16 * time.Minute) }, ErrRequestTimeSkewed},
		{"no Authorization", func(r *http.Request, _ *[]byte, _ *time.Time) { r.Header.Del("Authorization") }, ErrMissingAuthorization},
		{"no date", func(r *http.Request, _ *[]byte, _ *time.Time) { r.Header.Del(HeaderDate) }, ErrMissingDate},
		{"not a date", func(r *http.Request, _ *[]byte, _ *time.Time) { r.Header.Set(HeaderDate, "20260229T120000Z") }, ErrMissingDate},
		{"unknown access key", func(r *http.Request, _ *[]byte, _ *time.Time) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Access=HWC", "Access=XYZ", 1))
		}, ErrUnknownAccessKey},
		{"other algorithm", func(r *http.Request, _ *[]byte, _ *time.Time) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SDK-HMAC-SHA256", "AWS4-HMAC-SHA256", 1))
		}, ErrMalformedAuthorization},
		{"date not signed", func(r *http.Request, _ *[]byte, _ *time.Time) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";x-sdk-date", "", 1))
		}, ErrMalformedAuthorization},
		{"signature truncated", func(r *http.Request, _ *[]byte, _ *time.Time) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-2])
		}, ErrMalformedAuthorization},
		{"payload hash header lies", func(r *http.Request, _ *[]byte, _ *time.Time) {
			r.Header.Set(HeaderContentSHA256, strings.Repeat("0", 64))
		}, ErrPayloadHashMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, body, at := serverRequest(v), []byte(v.Body), now
			tt.mutate(r, &body, &at)
			err := Verify(r, body, secretOf(v), at, 15*time.Minute)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), v.SecretKey) || strings.Contains(err.Error(), v.Signature) {
				t.Fatalf("error leaks the secret or the signature: %v", err)
			}
		})
	}
}

func TestVerifyUnsignedPayloadIgnoresBody(t *testing.T) {
	t.Parallel()
	v := vectorByName(t, "non_json_content_type_unsigned_payload")
	if err := Verify(serverRequest(v), []byte("another body"), secretOf(v), v.date(t), time.Minute); err != nil {
		t.Fatalf("UNSIGNED-PAYLOAD request refused after a body change: %v", err)
	}
}
