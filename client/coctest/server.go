package coctest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/coc-bridge/coc-bridge/client"
)

// Options configure a Server.
type Options struct {
	// AccessKey and SecretKey are the only credentials accepted; a request
	// signed with anything else is answered 401 APIG.0301.
	AccessKey string
	SecretKey string
	// DomainID, when set, must be the request's X-Domain-Id (else 401).
	DomainID string
	// NowFunc is the server clock: signature dates, ticket ids and times
	// (default time.Now).
	NowFunc func() time.Time
	// MaxSkew is how far X-Sdk-Date may be from NowFunc (default 15m, as
	// the API gateway).
	MaxSkew time.Duration
	// Logger logs every request at debug level; nil logs nothing.
	Logger *zap.Logger
	// QPSLimit throttles authenticated requests above this rate (real time)
	// with 429 APIG.0308; 0 means unlimited.
	QPSLimit float64
	// Latency delays every authenticated answer (see SetLatency).
	Latency time.Duration
}

// maxBody bounds a request body, as the gateway does (413 above).
const maxBody = 12 << 20

// Server is a fake COC issue-ticket API: an http.Handler that verifies
// every signature, validates bodies, keeps tickets in memory and answers
// with COC's envelopes and error codes. Faults are scripted (FailNext,
// DropAfterCreate, SetDown, SetLatency), never random. Wrap it with
// httptest.NewServer in tests, or serve it with an http.Server. A Server
// is safe for concurrent use; its memory grows with the tickets created.
type Server struct {
	opts    Options
	log     *zap.Logger
	now     func() time.Time
	limiter *rate.Limiter // nil: unlimited

	mu        sync.Mutex
	tickets   []*Ticket // creation order; forgotten tickets removed
	seq       int       // tickets ever created
	requests  int       // requests ever received
	calls     map[string]int
	throttled int
	latency   time.Duration
	faults    []*scriptedFault
	drops     int
	down      bool
	lag       time.Duration // SetVisibilityLag
}

// Ticket is a ticket as the fake stores it.
type Ticket struct {
	client.CreateTicketRequest
	TicketID       string // ISU<yyyyMMddHHmmss><11 digits>
	ID             string // internal id, 32 hex digits
	WorkFlowStatus string
	StatusName     string // English name of WorkFlowStatus set by SetStatus ("" for the known one)
	Phase          string
	IsDeleted      bool
	CreatedAt      time.Time
	UpdatedAt      time.Time

	actions []ActionCall // applied, oldest first (Actions)
}

// Workflow states of a new and a completed ticket (the actions add more).
// Only StatusCompleted is documented by COC.
const (
	StatusPending   = "issues_work_flow_status_1000"
	StatusCompleted = "issues_work_flow_status_12000"
	PhasePending    = "issues_phase_1000"
	PhaseCompleted  = "issues_phase_4000"
)

// ErrNoTicket is returned by Accept, Complete, Delete and Forget for an unknown id.
var ErrNoTicket = errors.New("no such ticket")

// New returns a Server with no tickets.
func New(opts Options) *Server {
	s := &Server{opts: opts, log: opts.Logger, now: opts.NowFunc, calls: map[string]int{}, latency: opts.Latency}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.MaxSkew <= 0 {
		s.opts.MaxSkew = 15 * time.Minute
	}
	if opts.QPSLimit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(opts.QPSLimit), max(1, int(opts.QPSLimit)))
	}
	return s
}

// ServeHTTP answers one request: route, count, outage, signature, throttle,
// scripted fault, latency, then the operation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	rid := fmt.Sprintf("%032x", s.requests)
	s.mu.Unlock()
	w.Header().Set("X-Request-Id", rid)
	op, ticketID := route(r)
	if op == "" {
		s.reply(w, r, op, gatewayError(rid, http.StatusNotFound, client.CodeAPINotFound, "API not found"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.reply(w, r, op, gatewayError(rid, http.StatusRequestEntityTooLarge, "APIG.0201", "Request entity too large"))
		return
	}
	s.mu.Lock()
	s.calls[op]++
	down := s.down
	s.mu.Unlock()
	if down {
		s.reply(w, r, op, gatewayError(rid, http.StatusServiceUnavailable, client.CodeBackendDown, "Backend unavailable"))
		return
	}
	if err := s.authenticate(r, body); err != nil {
		s.log.Info("request refused: authentication", zap.String("operation", op), zap.String("request_id", rid), zap.Error(err))
		s.reply(w, r, op, gatewayError(rid, http.StatusUnauthorized, client.CodeAuthFailed,
			"Incorrect IAM authentication information: "+err.Error()))
		return
	}
	if s.limiter != nil && !s.limiter.Allow() {
		s.reply(w, r, op, gatewayError(rid, http.StatusTooManyRequests, client.CodeThrottled, fmt.Sprintf(
			"The throttling threshold has been reached: policy user over ratelimit,limit:%g,time:1 second", s.opts.QPSLimit)))
		return
	}
	fault := s.takeFault(op)
	if fault != nil && !fault.Apply {
		s.reply(w, r, op, fault.answer(rid))
		return
	}
	if !s.delay(r) {
		return // the client went away
	}
	ans := s.handle(op, ticketID, body)
	switch {
	case fault != nil:
		ans = fault.answer(rid)
	case op == client.OpCreateTicket && ans.status == http.StatusOK && s.takeDrop():
		s.log.Debug("create stored; dropping the connection", zap.String("request_id", rid))
		dropConnection(w)
		return
	}
	s.reply(w, r, op, ans)
}

// route maps a request to its operation ("" when the API does not exist)
// and, for show, the ticket id.
func route(r *http.Request) (op, ticketID string) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodPost && p == "/v1/issues_mgmt/tickets":
		return client.OpCreateTicket, ""
	case r.Method == http.MethodPost && p == "/v1/issues_mgmt/list-tickets":
		return client.OpListTickets, ""
	case r.Method == http.MethodPost && p == "/v1/issues_mgmt/actions":
		return OpAction, ""
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v1/issues_mgmt/tickets/"):
		id := strings.TrimPrefix(p, "/v1/issues_mgmt/tickets/")
		if id != "" && !strings.Contains(id, "/") {
			return client.OpGetTicket, id
		}
	}
	return "", ""
}

// authenticate checks the signature and the domain id.
func (s *Server) authenticate(r *http.Request, body []byte) error {
	secretFor := func(ak string) (string, bool) {
		return s.opts.SecretKey, ak != "" && ak == s.opts.AccessKey
	}
	if err := client.Verify(r, body, secretFor, s.now(), s.opts.MaxSkew); err != nil {
		return err
	}
	if s.opts.DomainID != "" && r.Header.Get("X-Domain-Id") != s.opts.DomainID {
		return errors.New("X-Domain-Id does not match the account")
	}
	return nil
}

// Calls returns how many requests for operation (create_ticket,
// get_ticket, list_tickets, or OpAction for every action) arrived, refused
// and faulted ones included.
func (s *Server) Calls(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

// Throttled returns how many 429 answers were given.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// Reset forgets every ticket, count and scripted fault, and ends an outage.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickets, s.seq, s.calls, s.throttled = nil, 0, map[string]int{}, 0
	s.faults, s.drops, s.down, s.latency = nil, 0, false, s.opts.Latency
}

// copyTicket returns a copy sharing no memory with t.
func copyTicket(t *Ticket) Ticket {
	c := *t
	if t.IsStartProcess != nil {
		c.IsStartProcess = new(*t.IsStartProcess)
	}
	return c
}

// Tickets returns copies of every ticket, in creation order.
func (s *Server) Tickets() []Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Ticket, 0, len(s.tickets))
	for _, t := range s.tickets {
		out = append(out, copyTicket(t))
	}
	return out
}

// TicketsBySourceID returns copies of the tickets with that source_id, in
// creation order.
func (s *Server) TicketsBySourceID(id string) []Ticket {
	return slices.DeleteFunc(s.Tickets(), func(t Ticket) bool { return t.SourceID != id })
}
