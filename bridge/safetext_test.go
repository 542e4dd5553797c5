package bridge_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coc-bridge/coc-bridge/bridge"
)

func TestSafeText(t *testing.T) {
	cases := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "invalid parameter: level", 100, "invalid parameter: level"},
		{"NUL", "a\x00b\x00", 100, "a\uFFFDb\uFFFD"},
		{"invalid UTF-8 run", "a\xff\xfeb", 100, "a\uFFFDb"},
		{"cut with ellipsis", "abcdefghij", 8, "abcde…"},
		{"cut inside a character", "ééééé", 7, "éé…"},
		{"exactly max", "abcdefgh", 8, "abcdefgh"},
		{"max below the ellipsis", "abcdef", 2, "ab"},
		{"no cap", strings.Repeat("x", 10000), 0, strings.Repeat("x", 10000)},
		{"NUL then cut", "\x00\x00\x00\x00", 7, "\uFFFD…"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := bridge.SafeText(c.in, c.max)
			if got != c.want {
				t.Fatalf("SafeText(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
			}
			if !utf8.ValidString(got) || strings.ContainsRune(got, 0) || (c.max > 0 && len(got) > c.max) {
				t.Fatalf("SafeText(%q, %d) = %q: not storable", c.in, c.max, got)
			}
			if again := bridge.SafeText(got, c.max); again != got {
				t.Fatalf("not idempotent: %q then %q", got, again)
			}
		})
	}
}
