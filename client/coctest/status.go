package coctest

// SetStatus moves the ticket to work_flow_status code with the English
// display name name (shown in enum_data_list; "" shows the code's known
// name or the code) and phase (left unchanged when ""), as an operator's
// workflow step in COC would: cancelling, rejecting, or a status the bridge
// has never seen.
func (s *Server) SetStatus(ticketID, code, name, phase string) error {
	return s.change(ticketID, func(t *Ticket) {
		t.WorkFlowStatus, t.StatusName = code, name
		if phase != "" {
			t.Phase = phase
		}
	})
}
