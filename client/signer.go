package client

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Names and values of the SDK-HMAC-SHA256 signature (API.md section 3).
const (
	// Algorithm is the signing algorithm named in the Authorization header.
	Algorithm = "SDK-HMAC-SHA256"
	// DateLayout is the Go time layout of the X-Sdk-Date header.
	DateLayout = "20060102T150405Z"
	// HeaderDate is the signing-time header; it is always signed.
	HeaderDate = "X-Sdk-Date"
	// HeaderSecurityToken carries the token of temporary credentials.
	HeaderSecurityToken = "X-Security-Token"
	// HeaderContentSHA256 overrides the payload hash when present.
	HeaderContentSHA256 = "X-Sdk-Content-Sha256"
	// UnsignedPayload is the payload hash used for non-JSON bodies.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
)

// emptySHA256 is the hex SHA-256 of the empty string.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Sign signs req the way the official Huawei Cloud Go SDK does, at time t.
//
// It sets X-Sdk-Date (from t, in UTC), X-Security-Token when creds has a
// token, X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD when the Content-Type
// contains neither application/json nor application/bson, and finally
// Authorization. Every header on req is signed except Authorization,
// names starting with content-type and names containing '_'. Host is signed
// only when req.Header has an explicit "Host" entry; req.Host is then set to
// the same value so that what is signed is what is sent. body must be the
// exact bytes sent; Sign does not read req.Body.
func Sign(req *http.Request, body []byte, creds Credentials, t time.Time) error {
	if creds.AccessKey == "" || creds.SecretKey == "" {
		return errors.New("sign request: access key or secret key is empty")
	}
	if req.URL == nil {
		return errors.New("sign request: no URL")
	}
	query, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("sign request: parse query: %w", err)
	}
	req.Header.Del("Authorization")
	date := t.UTC().Format(DateLayout)
	req.Header.Set(HeaderDate, date)
	if creds.SecurityToken != "" {
		req.Header.Set(HeaderSecurityToken, creds.SecurityToken.Reveal())
	}
	if host, ok := req.Header["Host"]; ok && len(host) > 0 {
		req.Host = host[0]
	}
	if ct, ok := req.Header["Content-Type"]; ok && len(ct) > 0 && req.Header.Get(HeaderContentSHA256) == "" &&
		!strings.Contains(ct[0], "application/json") && !strings.Contains(ct[0], "application/bson") {
		req.Header.Set(HeaderContentSHA256, UnsignedPayload)
	}
	canonical, signed := CanonicalRequest(req.Method, req.URL.Path, query, req.Header, payloadHash(req.Header, body))
	sig := signature(creds.SecretKey.Reveal(), stringToSign(date, canonical))
	req.Header.Set("Authorization", authorization(creds.AccessKey, signed, sig))
	return nil
}

// payloadHash is the X-Sdk-Content-Sha256 value when present, else the hex
// SHA-256 of body.
func payloadHash(h http.Header, body []byte) string {
	if v := h.Get(HeaderContentSHA256); v != "" {
		return v
	}
	if len(body) == 0 {
		return emptySHA256
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// CanonicalRequest builds the canonical request of API.md 3.1 and the
// signed-headers list. path is the decoded request path, query the decoded
// query pairs, headers every header handed to the signer (names in any
// case; the first value of each is used). Names starting with content-type,
// names containing '_' and Authorization are left out, as the SDK does.
func CanonicalRequest(method, path string, query url.Values, headers http.Header, payloadHash string) (canonical, signedHeaders string) {
	type header struct{ name, key, value string }
	hs := make([]header, 0, len(headers))
	for k, v := range headers {
		name := strings.ToLower(k)
		if strings.HasPrefix(name, "content-type") || strings.Contains(name, "_") || name == "authorization" {
			continue
		}
		h := header{name: name, key: k}
		if len(v) > 0 {
			h.value = v[0]
		}
		hs = append(hs, h)
	}
	// Sort by name, then by original key, so a name given in two spellings
	// resolves the same way every time (the first key wins).
	slices.SortFunc(hs, func(a, b header) int {
		return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.key, b.key))
	})
	hs = slices.CompactFunc(hs, func(a, b header) bool { return a.name == b.name })
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.name
	}
	value := func(n string) string {
		i, _ := slices.BinarySearchFunc(hs, n, func(h header, n string) int { return strings.Compare(h.name, n) })
		return hs[i].value
	}
	return canonicalRequest(method, path, query, names, value, payloadHash)
}

// canonicalRequest joins the six parts; names must be lower case and sorted.
func canonicalRequest(method, path string, query url.Values, names []string, value func(string) string, payloadHash string) (string, string) {
	var b strings.Builder
	b.Grow(256 + len(path))
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(path))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(query))
	b.WriteByte('\n')
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.TrimSpace(value(n)))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	signed := strings.Join(names, ";")
	b.WriteString(signed)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String(), signed
}

// canonicalURI escapes each segment of the decoded path and appends '/'
// unless the path already ends with one.
func canonicalURI(path string) string {
	if path == "" {
		return "/"
	}
	var b strings.Builder
	b.Grow(len(path) + 8)
	for i, seg := range strings.Split(path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(escape(seg))
	}
	if !strings.HasSuffix(path, "/") {
		b.WriteByte('/')
	}
	return b.String()
}

// canonicalQuery sorts keys, then each key's values, by raw bytes and
// emits escape(key)=escape(value) pairs joined with '&'.
func canonicalQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		vs := slices.Clone(q[k])
		slices.Sort(vs)
		if len(vs) == 0 {
			vs = []string{""}
		}
		for _, v := range vs {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(escape(k))
			b.WriteByte('=')
			b.WriteString(escape(v))
		}
	}
	return b.String()
}

// escape keeps A-Z a-z 0-9 - _ . ~ and turns every other byte into %XX
// with upper-case hex digits (API.md 3.2).
func escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexUpper = "0123456789ABCDEF"
	buf := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			buf = append(buf, c)
			continue
		}
		buf = append(buf, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return string(buf)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// escapePath escapes each segment of a decoded path for the wire.
func escapePath(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = escape(s)
	}
	return strings.Join(segs, "/")
}

func stringToSign(date, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return Algorithm + "\n" + date + "\n" + hex.EncodeToString(sum[:])
}

func signature(secret, stringToSign string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return hex.EncodeToString(m.Sum(nil))
}

func authorization(accessKey, signedHeaders, sig string) string {
	return Algorithm + " Access=" + accessKey + ", SignedHeaders=" + signedHeaders + ", Signature=" + sig
}
