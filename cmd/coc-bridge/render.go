package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/coc-bridge/coc-bridge/mapping"
)

func renderCommand() command {
	return command{
		name:    "render",
		args:    "--payload FILE",
		summary: "print the ticket fields a notification would produce",
		about: `Decode an Alertmanager webhook body (FILE, or - for stdin) and print, as JSON, for each
issue key it yields: the key (sent as source_id), the receiver, what the bridge would do and
the ticket fields it would send to COC, using the COC_BRIDGE_* variables and the mapping
file. Use it to preview templates before deploying. Without --payload it renders the
built-in sample notification. Nothing is stored or sent.`,
		run: func(ctx context.Context, a *app, fs *flag.FlagSet, args []string) error {
			payload := fs.String("payload", "", "webhook body to render: a file, or - for stdin (default: the built-in sample)")
			if err := a.parse(fs, args); err != nil {
				return err
			}
			cfg, err := loadConfig(ctx, a.env, needMapping)
			if err != nil {
				return err
			}
			body, err := readPayload(*payload, a.stdin)
			if err != nil {
				return err
			}
			mapper, err := mapping.New(cfg.mapping)
			if err != nil {
				return configError{fmt.Errorf("mapping: %w", err)}
			}
			out, err := renderNotification(mapper, body)
			if err != nil {
				return err
			}
			return writeJSON(a.stdout, out)
		},
	}
}

func readPayload(name string, stdin io.Reader) ([]byte, error) {
	switch name {
	case "":
		return sampleNotification(sampleOptions{}), nil
	case "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read payload from stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read payload: %w", err)
	}
	return b, nil
}

// rendered is what render prints for one issue key: what the bridge would
// do, and the mapped ticket (key, receiver, status, COC's create fields and
// the alert counts).
type rendered struct {
	Action string `json:"action"`
	mapping.Ticket
}

// renderNotification maps a webhook body the way the bridge does.
func renderNotification(mapper *mapping.Mapper, body []byte) ([]rendered, error) {
	msg, err := mapping.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	var out []rendered
	for _, part := range mapper.Split(msg) {
		t, err := mapper.Map(part, mapping.MapOptions{})
		if err != nil {
			return nil, fmt.Errorf("render the ticket of key %s: %w", mapper.Key(part), err)
		}
		action := "create this ticket, unless the key already has a pending or open one"
		if !part.Firing() {
			action = "record the resolution on the key's ledger entry; no ticket is created"
		}
		out = append(out, rendered{Action: action, Ticket: t})
	}
	if len(out) == 0 {
		return nil, errors.New("the payload has no alerts")
	}
	return out, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
