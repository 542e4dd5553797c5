package main

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test stops what it starts: daemons, fake servers, stores.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
