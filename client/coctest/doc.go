// Package coctest is a fake Huawei Cloud COC issue-ticket API for tests
// and local trials (the fake-coc subcommand serves it).
//
// A Server is an http.Handler speaking the wire protocol of the real
// service: it verifies every SDK-HMAC-SHA256 signature with client.Verify
// (checked against the shared signing vectors), answers refusals the way
// the API gateway does (401 APIG.0301, 404 APIG.0101, 429 APIG.0308,
// 503 APIG.0202), validates create bodies as COC documents them (400
// GOM.00007256), and keeps tickets in memory for create, show (400
// COC.00067003 when unknown), list-tickets and the actions that change a
// ticket's level or status (accept, reject, cancel, submit a solution;
// params validated as API.md 7 lists them, a refusal by status answered 400
// CodeActionNotAllowed). Every answer carries a Date header from the server
// clock, as the gateway's does. Faults are scripted,
// never random: FailNext (error envelopes, raw bodies, empty or cut
// answers, wrong content types), DropAfterCreate (the ambiguous case),
// SetDown, SetLatency and a QPS limit. Tests assert outcomes through Tickets,
// TicketsBySourceID, Ticket, Actions, Calls and Throttled, and drive the
// ticket lifecycle with Accept, Complete, SetStatus, Delete and Forget.
//
// It owns no real network state: wrap it with httptest.NewServer, or serve
// it with an http.Server.
package coctest
