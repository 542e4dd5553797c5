package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/internal/logthrottle"
	"github.com/coc-bridge/coc-bridge/mapping"
)

// acceptStore is what the receiver needs of the store.
type acceptStore interface {
	Accept(ctx context.Context, batch ...Notification) ([]AcceptResult, error)
}

// keyer splits a notification into issue keys, levels them and gives the
// policy they are accepted under (*mapping.Mapper implements it).
type keyer interface {
	Split(msg *mapping.Message) []*mapping.Message
	Key(msg *mapping.Message) string
	Level(msg *mapping.Message) (string, int)
	Policy(receiver string) mapping.Policy
	Lookups() mapping.Lookups
}

// receiverOptions configures a receiver. Store, Mapper and Metrics are
// required.
type receiverOptions struct {
	Store  acceptStore
	Mapper keyer
	// Auth protects the webhook; zero value means no authentication.
	Auth WebhookAuth
	// MaxBodyBytes caps a webhook body.
	MaxBodyBytes int64
	// Queued is called after a batch queued at least one outbox item, to
	// wake the delivery workers (nil: nothing is called).
	Queued  func()
	NowFunc func() time.Time
	Logger  *zap.Logger
	Metrics *metrics
}

// receiver is the accept path, POST /api/v1/alerts: authenticate, limit,
// decode, key, Store.Accept, answer. It answers 2xx only after every
// notification derived from the body is durably stored; bad input is
// answered 4xx with nothing stored; a store failure is answered 503 so that
// Alertmanager retries (see answer.go for the statuses).
type receiver struct {
	opts receiverOptions
	log  *zap.Logger
	m    *metrics
	// rejects rate-limits the log lines of refused requests.
	rejects *logthrottle.Throttle
}

func newReceiver(opts receiverOptions) *receiver {
	if opts.Queued == nil {
		opts.Queued = func() {}
	}
	return &receiver{opts: opts, log: opts.Logger, m: opts.Metrics,
		rejects: logthrottle.New(opts.Logger, logthrottle.Options{Now: opts.NowFunc})}
}

// acceptResponse is the body of a 200 answer to Alertmanager.
type acceptResponse struct {
	Status    string          `json:"status"`
	Decisions []decisionReply `json:"decisions"`
}

type decisionReply struct {
	Key      string   `json:"key"`
	Decision Decision `json:"decision"`
	TicketID string   `json:"ticket_id,omitempty"`
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		rc.reject(w, r, resultMethodNotAllowed, "method not allowed: use POST")
		return
	}
	if !rc.opts.Auth.check(r) {
		rc.m.authFailures.Inc()
		rc.opts.Auth.challenge(w)
		rc.reject(w, r, resultUnauthorized, "missing or wrong credentials")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			rc.reject(w, r, resultUnsupportedMediaType,
				fmt.Sprintf("unsupported content type %q: want application/json", ct))
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.opts.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			rc.reject(w, r, resultTooLarge,
				fmt.Sprintf("body larger than %d bytes (raise COC_BRIDGE_MAX_BODY_BYTES or set max_alerts in Alertmanager)", rc.opts.MaxBodyBytes))
			return
		}
		// The body did not arrive whole (the sender hung up, or was too
		// slow for the server's read timeout). That is a transport failure,
		// not bad input: a 4xx would tell Alertmanager never to send this
		// notification again. Hang up without an answer instead, so the
		// sender sees a transport error and retries.
		rc.m.notifications.WithLabelValues("", resultIncompleteBody).Inc()
		rc.log.Warn("notification body did not arrive whole; hanging up so the sender retries",
			zap.Error(err), zap.String("remote", r.RemoteAddr))
		panic(http.ErrAbortHandler)
	}
	msg, err := mapping.Decode(body)
	if err != nil {
		rc.reject(w, r, resultBadRequest, err.Error())
		return
	}

	replies, err := rc.accept(r.Context(), msg, body)
	if err != nil {
		rc.m.storeErrors.WithLabelValues("accept").Inc()
		rc.log.Error("store notification", zap.String("receiver", msg.Receiver), zap.Error(err))
		rc.reject(w, r, resultStoreUnavailable, "cannot store the notification right now; retry")
		return
	}
	rc.m.notifications.WithLabelValues(msg.Receiver, resultAccepted).Inc()
	rc.m.alertsPerNotif.Observe(float64(len(msg.Alerts)))
	writeJSON(w, statusOf(resultAccepted), acceptResponse{Status: "accepted", Decisions: replies})
}

// accept keys the notifications msg splits into (one per issue key in the
// alert dedupe mode) and stores them all in one store transaction: every
// one of them is recorded, or none. body is msg's JSON as received.
func (rc *receiver) accept(ctx context.Context, msg *mapping.Message, body []byte) ([]decisionReply, error) {
	parts := rc.opts.Mapper.Split(msg)
	batch := make([]Notification, len(parts))
	unknown := make([]int, len(parts))
	now := rc.opts.NowFunc()
	// Every part is the receiver's: one policy for all of them.
	policy, lookupFirst := rc.opts.Mapper.Policy(msg.Receiver), rc.opts.Mapper.Lookups().BeforeCreate
	for i, part := range parts {
		raw := body
		if part != msg {
			// A split part is encoded on its own. Unsplit, the body is the
			// notification's JSON already (Decode of it gives msg again),
			// so it is stored as received rather than encoded again.
			// MarshalJSON directly: json.Marshal would validate and
			// compact its (already compact) output once more.
			var err error
			if raw, err = part.MarshalJSON(); err != nil {
				return nil, fmt.Errorf("encode notification: %w", err)
			}
		}
		var level string
		level, unknown[i] = rc.opts.Mapper.Level(part)
		batch[i] = Notification{
			Key:                rc.opts.Mapper.Key(part),
			Receiver:           part.Receiver,
			Firing:             part.Firing(),
			Level:              level,
			Message:            raw,
			ReceivedAt:         now,
			GroupLabels:        part.GroupLabels,
			LevelUpdates:       policy.LevelUpdates,
			OnResolve:          policy.OnResolve,
			LookupBeforeCreate: lookupFirst,
		}
	}
	results, err := rc.opts.Store.Accept(ctx, batch...)
	if err != nil {
		return nil, fmt.Errorf("store %d notification(s) of receiver %s: %w", len(batch), msg.Receiver, err)
	}
	replies := make([]decisionReply, len(batch))
	queued := false
	for i, res := range results {
		n, part := batch[i], parts[i]
		rc.m.decisions.WithLabelValues(string(res.Decision)).Inc()
		if res.Repeat {
			rc.m.repeatsFromRead.Inc()
		}
		if n.Firing {
			rc.m.unknownSeverities.Add(float64(unknown[i]))
		}
		queued = queued || res.Decision == DecisionCreate || res.Decision == DecisionLevelChange || res.Decision == DecisionResolveAction
		// The fields are built only for a line that is written: most
		// notifications are repeats, logged at debug.
		fields := func() []zap.Field {
			return []zap.Field{zap.String("receiver", n.Receiver), zap.String("ticket_id", res.Entry.TicketID),
				zap.String("decision", string(res.Decision)), zap.String("status", part.Status), zap.Int("alerts", len(part.Alerts))}
		}
		switch res.Decision {
		case DecisionSuppressDead:
			// The key's create is dead-lettered: this firing waits for a replay.
			rc.rejects.Warn(n.Key, string(res.Decision),
				"notification recorded but not ticketed: the key's create is dead-lettered until replayed (coc-bridge outbox replay)", fields()...)
		case DecisionResolvedUnknown:
			rc.rejects.Info(n.Key, string(res.Decision),
				"resolved notification for a group the ledger never saw firing; nothing stored", fields()...)
		default:
			if ce := rc.log.Check(zap.DebugLevel, "notification accepted"); ce != nil {
				ce.Write(append(fields(), zap.String("key", n.Key))...)
			}
		}
		replies[i] = decisionReply{Key: n.Key, Decision: res.Decision, TicketID: res.Entry.TicketID}
	}
	if queued {
		rc.opts.Queued()
	}
	return replies, nil
}

// reject answers a webhook request that is not accepted with result's
// status, counts it by result and logs it at info, at most once a minute
// per client address and result (internal failures are logged where they
// happen). Nothing has been stored when reject is called.
func (rc *receiver) reject(w http.ResponseWriter, r *http.Request, result, msg string) {
	status := statusOf(result)
	rc.m.notifications.WithLabelValues("", result).Inc()
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	what := "notification rejected; Alertmanager does not retry a 4xx answer: these alerts are not ticketed"
	if status >= 500 {
		what = "notification refused for now; Alertmanager retries it"
	}
	rc.rejects.Info(host, result, what, zap.Int("code", status), zap.String("result", result),
		zap.String("reason", msg), zap.String("remote", r.RemoteAddr))
	writeError(w, status, msg)
}
