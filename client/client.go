package client

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Options configure a Client. Only Endpoint and Credentials are required.
type Options struct {
	// Endpoint is COC's base URL (https://coc.myhuaweicloud.com, or
	// http://127.0.0.1:1234 for a fake) or a region id (see ResolveEndpoint).
	Endpoint string
	// Credentials sign every attempt; asked again for each attempt.
	Credentials CredentialsProvider
	// DomainID is sent (and signed) as X-Domain-Id when set: the account id
	// of global credentials. COC's SDK always sends it.
	DomainID string
	// ProjectID is sent (and signed) as X-Project-Id when set.
	ProjectID string
	// HTTPClient sends the requests (default: a client with dial, TLS and
	// idle timeouts). Redirects are never followed: a copy of it is used
	// whose CheckRedirect returns the redirect answer.
	HTTPClient *http.Client
	// QPS and Burst size the token bucket shared by all calls (default 5
	// and 5). With several replicas they are the account's: see ShareRate.
	QPS   float64
	Burst int
	// ReadShare is the share of QPS that low-priority calls (LowPriority:
	// status reads) may use, in (0, 1] (default DefaultReadShare); they
	// also wait while any other call waits.
	ReadShare float64
	// Retry bounds the retries of one call.
	Retry RetryPolicy
	// Registerer receives the coc_bridge_coc_* metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger logs every attempt at debug level (never credentials or
	// signatures); nil logs nothing.
	Logger *zap.Logger
	// NowFunc is the signing clock (default time.Now).
	NowFunc func() time.Time
	// UserAgent is sent (and signed) as User-Agent (default "coc-bridge").
	UserAgent string
}

// Client calls COC's issue-ticket API. It signs, rate limits, retries and
// classifies every call. A Client is safe for concurrent use.
type Client struct {
	base      *url.URL
	creds     CredentialsProvider
	domainID  string
	projectID string
	userAgent string
	hc        *http.Client
	limiter   *rateLimiter
	priority  Priority
	retry     RetryPolicy
	metrics   *metrics
	log       *zap.Logger
	nowFunc   func() time.Time
}

// New checks opts and builds a Client.
func New(opts Options) (*Client, error) {
	endpoint, err := ResolveEndpoint(opts.Endpoint)
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	if opts.Credentials == nil {
		return nil, errors.New("no credentials provider")
	}
	if err := opts.Retry.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	limiter, err := newRateLimiter(opts.QPS, opts.Burst, opts.ReadShare, m.rateWait)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:      base,
		creds:     opts.Credentials,
		domainID:  opts.DomainID,
		projectID: opts.ProjectID,
		userAgent: cmp.Or(opts.UserAgent, "coc-bridge"),
		hc:        noRedirects(opts.HTTPClient),
		limiter:   limiter,
		retry:     opts.Retry.withDefaults(),
		metrics:   m,
		log:       opts.Logger,
		nowFunc:   opts.NowFunc,
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	if c.nowFunc == nil {
		c.nowFunc = time.Now
	}
	return c, nil
}

// noRedirects returns a copy of hc (or a default client) that hands a
// redirect answer back instead of following it: a redirect would drop the
// signature, and COC does not redirect.
func noRedirects(hc *http.Client) *http.Client {
	var c http.Client
	if hc != nil {
		c = *hc
	} else {
		c.Transport = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			ExpectContinueTimeout: time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConns:          16,
			MaxIdleConnsPerHost:   8,
		}
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// regionEndpoints are COC's sites by SDK region id (API.md 1).
func regionEndpoints() map[string]string {
	return map[string]string{
		"cn-north-4":     "https://coc.myhuaweicloud.com",
		"ap-southeast-3": "https://coc-intl.myhuaweicloud.com",
		"eu-west-101":    "https://coc-eu-west-101-open-api.myhuaweicloud.eu",
	}
}

// ResolveEndpoint turns a COC region id (cn-north-4, ap-southeast-3,
// eu-west-101) into its base URL, or checks and normalises a base URL
// (http or https, a host, no query or fragment; a trailing '/' removed).
func ResolveEndpoint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("endpoint is empty")
	}
	regions := regionEndpoints()
	if u, ok := regions[s]; ok {
		return u, nil
	}
	if !strings.Contains(s, "://") {
		known := make([]string, 0, len(regions))
		for r := range regions {
			known = append(known, r)
		}
		slices.Sort(known)
		return "", fmt.Errorf("endpoint %q is neither a URL nor a known region (%s)", s, strings.Join(known, ", "))
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("endpoint: %w", err)
	}
	switch {
	case u.User != nil:
		return "", errors.New("endpoint: must not contain user information")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("endpoint %q: scheme must be http or https", s)
	case u.Host == "":
		return "", fmt.Errorf("endpoint %q: no host", s)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", fmt.Errorf("endpoint %q: must not have a query or fragment", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// endpointURL is the URL of path (decoded, starting with '/') under the
// base URL, escaped segment by segment on the wire.
func (c *Client) endpointURL(path string) *url.URL {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = escapePath(u.Path)
	return &u
}
