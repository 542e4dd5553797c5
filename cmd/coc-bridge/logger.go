package main

import (
	"fmt"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger builds the process logger from COC_BRIDGE_LOG_LEVEL and
// COC_BRIDGE_LOG_FORMAT, writing to w (the run's stderr, so tests capture
// it). JSON lines carry ISO8601 timestamps; console is for humans. No
// sampling: every decision line is kept. The logger is never global; it is
// passed to every constructor.
func newLogger(level, format string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	var enc zapcore.Encoder
	switch format {
	case "json":
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "ts"
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		ec.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewJSONEncoder(ec)
	case "console":
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		ec.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("log format %q: want json or console", format)
	}
	out := zapcore.Lock(zapcore.AddSync(w))
	core := zapcore.NewCore(enc, out, lvl)
	return zap.New(core, zap.AddCaller(), zap.ErrorOutput(out)), nil
}
