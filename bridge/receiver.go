package bridge

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"go.uber.org/zap"

	"github.com/coc-bridge/coc-bridge/mapping"
)

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

// receive is POST /api/v1/alerts: the accept path. It answers 2xx only after
// every notification derived from the body is durably stored; bad input is
// answered 4xx with nothing stored; a store failure is answered 503 so that
// Alertmanager retries.
func (b *Bridge) receive(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		b.reject(w, r, http.StatusMethodNotAllowed, resultMethodNotAllowed, "method not allowed: use POST")
		return
	}
	if !b.opts.Auth.check(r) {
		b.metrics.authFailures.Inc()
		b.opts.Auth.challenge(w)
		b.reject(w, r, http.StatusUnauthorized, resultUnauthorized, "missing or wrong credentials")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			b.reject(w, r, http.StatusUnsupportedMediaType, resultUnsupportedMediaType,
				fmt.Sprintf("unsupported content type %q: want application/json", ct))
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, b.opts.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			b.reject(w, r, http.StatusRequestEntityTooLarge, resultTooLarge,
				fmt.Sprintf("body larger than %d bytes (raise COC_BRIDGE_MAX_BODY_BYTES or set max_alerts in Alertmanager)", b.opts.MaxBodyBytes))
			return
		}
		// The body did not arrive whole (the sender hung up, or was too
		// slow for the server's read timeout). That is a transport failure,
		// not bad input: a 4xx would tell Alertmanager never to send this
		// notification again. Hang up without an answer instead, so the
		// sender sees a transport error and retries.
		b.metrics.notifications.WithLabelValues("", resultIncompleteBody).Inc()
		b.log.Warn("notification body did not arrive whole; hanging up so the sender retries",
			zap.Error(err), zap.String("remote", r.RemoteAddr))
		panic(http.ErrAbortHandler)
	}
	msg, err := mapping.Decode(body)
	if err != nil {
		b.reject(w, r, http.StatusBadRequest, resultBadRequest, err.Error())
		return
	}

	replies, err := b.accept(r, msg, body)
	if err != nil {
		b.metrics.storeErrors.WithLabelValues("accept").Inc()
		b.log.Error("store notification", zap.String("receiver", msg.Receiver), zap.Error(err))
		b.reject(w, r, http.StatusServiceUnavailable, resultStoreUnavailable,
			"cannot store the notification right now; retry")
		return
	}
	b.metrics.notifications.WithLabelValues(msg.Receiver, resultAccepted).Inc()
	b.metrics.alertsPerNotif.Observe(float64(len(msg.Alerts)))
	writeJSON(w, http.StatusOK, acceptResponse{Status: "accepted", Decisions: replies})
}

// accept keys the notifications msg splits into (one per issue key in the
// alert dedupe mode) and stores them all in one store transaction: every
// one of them is recorded, or none. body is msg's JSON as received.
func (b *Bridge) accept(r *http.Request, msg *mapping.Message, body []byte) ([]decisionReply, error) {
	parts := b.opts.Mapper.Split(msg)
	batch := make([]Notification, len(parts))
	unknown := make([]int, len(parts))
	now := b.opts.NowFunc()
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
		level, unknown[i] = b.opts.Mapper.Level(part)
		batch[i] = Notification{
			Key:        b.opts.Mapper.Key(part),
			Receiver:   part.Receiver,
			Firing:     part.Firing(),
			Level:      level,
			Message:    raw,
			ReceivedAt: now,
		}
	}
	results, err := b.opts.Store.Accept(r.Context(), batch...)
	if err != nil {
		return nil, fmt.Errorf("store %d notification(s) of receiver %s: %w", len(batch), msg.Receiver, err)
	}
	replies := make([]decisionReply, len(batch))
	created := false
	for i, res := range results {
		n, part := batch[i], parts[i]
		b.metrics.decisions.WithLabelValues(string(res.Decision)).Inc()
		if n.Firing {
			b.metrics.unknownSeverities.Add(float64(unknown[i]))
		}
		created = created || res.Decision == DecisionCreate
		b.log.Debug("notification accepted",
			zap.String("key", n.Key),
			zap.String("receiver", n.Receiver),
			zap.String("ticket_id", res.Entry.TicketID),
			zap.String("decision", string(res.Decision)),
			zap.String("status", part.Status),
			zap.Int("alerts", len(part.Alerts)))
		replies[i] = decisionReply{Key: n.Key, Decision: res.Decision, TicketID: res.Entry.TicketID}
	}
	if created {
		b.wake.notify()
	}
	return replies, nil
}
