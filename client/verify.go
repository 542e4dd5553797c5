package client

import (
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

// Reasons Verify rejects a request. The error Verify returns wraps one of
// them; none of them carries a secret or the received signature.
var (
	ErrMissingAuthorization   = errors.New("missing Authorization header")
	ErrMalformedAuthorization = errors.New("malformed Authorization header")
	ErrMissingDate            = errors.New("missing or malformed X-Sdk-Date header")
	ErrUnknownAccessKey       = errors.New("unknown access key")
	ErrRequestTimeSkewed      = errors.New("X-Sdk-Date too far from the server clock")
	ErrPayloadHashMismatch    = errors.New("X-Sdk-Content-Sha256 does not match the body")
	ErrSignatureMismatch      = errors.New("signature mismatch")
)

// Verify checks the SDK-HMAC-SHA256 signature of a received request the way
// the API gateway does: it recomputes the canonical request over exactly the
// headers listed in SignedHeaders (host taken from r.Host, since Go moves it
// out of r.Header), the decoded path and query of r.URL and the payload hash
// of body (or the X-Sdk-Content-Sha256 value), then compares signatures in
// constant time. secretFor maps an access key to its secret key. A date more
// than maxSkew away from now is refused; maxSkew <= 0 disables that check.
func Verify(r *http.Request, body []byte, secretFor func(accessKey string) (secretKey string, ok bool), now time.Time, maxSkew time.Duration) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return ErrMissingAuthorization
	}
	access, signed, sig, err := parseAuthorization(auth)
	if err != nil {
		return err
	}
	date := r.Header.Get(HeaderDate)
	at, err := time.Parse(DateLayout, date)
	if err != nil {
		return ErrMissingDate
	}
	if maxSkew > 0 && (at.Sub(now) > maxSkew || now.Sub(at) > maxSkew) {
		return fmt.Errorf("%w: %s is %s away", ErrRequestTimeSkewed, date, now.Sub(at).Abs().Round(time.Second))
	}
	secret, ok := secretFor(access)
	if !ok || secret == "" {
		return ErrUnknownAccessKey
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("%w: query: %v", ErrSignatureMismatch, err)
	}
	hash := r.Header.Get(HeaderContentSHA256)
	if hash == "" {
		hash = payloadHash(nil, body)
	} else if hash != UnsignedPayload && hash != payloadHash(nil, body) {
		return ErrPayloadHashMismatch
	}
	value := func(name string) string {
		if name == "host" {
			if h := r.Header.Get("Host"); h != "" {
				return h
			}
			return r.Host
		}
		return r.Header.Get(name)
	}
	canonical, _ := canonicalRequest(r.Method, r.URL.Path, query, signed, value, hash)
	want := signature(secret, stringToSign(date, canonical))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return ErrSignatureMismatch
	}
	return nil
}

// parseAuthorization splits "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b,
// Signature=hex". The signed headers must be lower case, sorted, unique and
// include x-sdk-date.
func parseAuthorization(v string) (access string, signed []string, sig string, err error) {
	rest, ok := strings.CutPrefix(v, Algorithm+" ")
	if !ok {
		return "", nil, "", fmt.Errorf("%w: algorithm is not %s", ErrMalformedAuthorization, Algorithm)
	}
	var signedList string
	for part := range strings.SplitSeq(rest, ",") {
		k, val, found := strings.Cut(strings.TrimSpace(part), "=")
		if !found {
			return "", nil, "", ErrMalformedAuthorization
		}
		switch k {
		case "Access":
			access = val
		case "SignedHeaders":
			signedList = val
		case "Signature":
			sig = val
		default:
			return "", nil, "", fmt.Errorf("%w: unexpected field %q", ErrMalformedAuthorization, k)
		}
	}
	if access == "" || signedList == "" || sig == "" {
		return "", nil, "", fmt.Errorf("%w: Access, SignedHeaders and Signature are required", ErrMalformedAuthorization)
	}
	if _, err := hex.DecodeString(sig); err != nil || len(sig) != 2*sha256.Size {
		return "", nil, "", fmt.Errorf("%w: signature is not hex SHA-256", ErrMalformedAuthorization)
	}
	signed = strings.Split(signedList, ";")
	if !slices.IsSorted(signed) || len(slices.Compact(slices.Clone(signed))) != len(signed) ||
		!slices.Contains(signed, "x-sdk-date") {
		return "", nil, "", fmt.Errorf("%w: SignedHeaders must be sorted, unique and include x-sdk-date", ErrMalformedAuthorization)
	}
	for _, n := range signed {
		if n == "" || n != strings.ToLower(n) {
			return "", nil, "", fmt.Errorf("%w: SignedHeaders must be lower-case names", ErrMalformedAuthorization)
		}
	}
	return access, signed, sig, nil
}
