// Package client is coc-bridge's client of the Huawei Cloud COC (Cloud
// Operations Center) issue-ticket API: create, show and find tickets.
//
// It owns, one concern per file: the SDK-HMAC-SHA256 request signature and
// its verification (signer.go, verify.go), where credentials come from and
// how rotated key files are picked up (credentials.go), the answer envelope
// (envelope.go, ticket.go), error classes (errors.go), retries with backoff
// and full jitter (retry.go), the token-bucket rate limit (ratelimit.go),
// metrics (metrics.go), and the calls themselves (client.go, call.go,
// tickets.go). It does not decide what a ticket says (package mapping) or
// what to do after an error (package bridge): every error it returns is an
// *Error whose Class tells the caller whether it may retry (ClassRetryable),
// must not (ClassPermanent), or must first look the ticket up by source_id
// because a create may have happened (ClassAmbiguous).
//
// The subpackage coctest is a fake COC that verifies signatures and keeps
// tickets in memory, for tests and local trials.
//
// Secrets are of type Secret and never print; errors and logs carry no
// credentials, signatures or Authorization headers.
//
// # Performance
//
// Signing a create request (BenchmarkSignCreateRequest: the create body of
// the signing vectors, 618 bytes; three signed headers) takes about
// 3.1-3.7 µs, 2368 B and 30 allocations per request, measured with
// "go test -run=^$ -bench=BenchmarkSignCreateRequest -benchmem -count=5
// ./client" on an otherwise idle 2-core machine (Go 1.26, linux/amd64; on a
// busy one it rose to 5-15 µs): negligible next to a network round trip
// and the default rate limit of 5 requests a second.
package client
