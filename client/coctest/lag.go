package coctest

import "time"

// SetVisibilityLag makes tickets invisible to show and list for d after
// their create (show answers COC.00067003, list leaves them out), as COC's
// asynchronous create (is_start_process_async) does; 0 turns it off. The
// test accessors (Tickets, Ticket) still see every ticket.
func (s *Server) SetVisibilityLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lag = d
}

// visible reports whether show and list may return t. Called with s.mu held.
func (s *Server) visible(t *Ticket) bool {
	return s.lag <= 0 || !s.now().Before(t.CreatedAt.Add(s.lag))
}
